"""Progress on stderr for long runs (stdout stays clean for --json)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

SHOW_FROM_BARS = 100_000


@contextmanager
def bar_progress(total: int, label: str = "backtest",
                 always: bool = False) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a ``progress(done, total)`` callback, or None when there is nothing to show
    (not a terminal, or a run too short to matter unless ``always``)."""
    console = Console(stderr=True)
    if (total < SHOW_FROM_BARS and not always) or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("bars", total=total)

        def update(done: int, _total: int) -> None:
            progress.update(task, completed=done)

        yield update
