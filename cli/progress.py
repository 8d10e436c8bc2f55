"""Progress on stderr for long runs (stdout stays clean for --json)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

SHOW_FROM_BARS = 100_000


@contextmanager
def bar_progress(total: int) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a ``progress(done, total)`` callback, or None when the run is too short to matter."""
    console = Console(stderr=True)
    if total < SHOW_FROM_BARS or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("bars", total=total)

        def update(done: int, _total: int) -> None:
            progress.update(task, completed=done)

        yield update
