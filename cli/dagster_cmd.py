"""``lockgate dagster`` (the UI with its daemon) and ``lockgate build`` (everything, once).

Both first make sure the dbt manifest is current (the code location reads it when loaded) and
write the Dagster instance under the Lockgate home, stored in Lockgate's PostgreSQL.
"""

from __future__ import annotations

import logging
import sys
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click


def _prepare() -> tuple[Any, Any]:
    """Resolve and migrate the database, parse dbt, write dagster.yaml; return (db, home)."""
    from orchestration.instance import prepare_home
    from orchestration.manifest import ensure_manifest
    from orchestration.resources import LockgateDatabase

    database = LockgateDatabase()
    settings = database.settings()  # starts the embedded server when none is configured
    ensure_manifest()
    home = prepare_home(Path(settings.home), database.admin_dsn(), database.app_dsn(),
                        settings.app_role)
    return database, home


@click.command(name="dagster")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address of the UI.")
@click.option("--port", default=3000, show_default=True, type=int, help="Port of the UI.")
def dagster(host: str, port: int) -> None:
    """Serve the Dagster UI and the daemon (schedules, sensors) until SIGINT/SIGTERM."""
    from orchestration.serve import serve

    _, home = _prepare()
    click.echo(f"Dagster instance: {home.path / 'dagster.yaml'}", err=True)
    code = serve(home.env, host, port, announce=lambda line: click.echo(line, err=True))
    sys.exit(code)


@click.command(name="build")
@click.option("--trades-dir", default="data/trades", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of trade CSVs (binance_BTC-USDT_trades_*.csv).")
@click.option("--candles-dir", default="data/candles", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of candle CSVs (binance_BTC-USDT_1h.csv).")
def build(trades_dir: Path, candles_dir: Path) -> None:
    """Materialise every asset once: raw data, vendor data, dbt models and their checks."""
    from orchestration.build import execute, plan_build, stored_days
    from orchestration.defs.features.resources import LockgateDbt
    from orchestration.defs.market_data.resources import CsvMarketData
    from orchestration.instance import apply_environment

    database, home = _prepare()
    apply_environment(home)
    from orchestration.definitions import build_definitions

    source = CsvMarketData(trades_dir=str(trades_dir), candles_dir=str(candles_dir))
    defs = build_definitions({"database": database, "dbt": LockgateDbt(database=database),
                              "market_data": source})
    days = source.data_days() | database.run(stored_days)
    plans = plan_build(defs, days)
    # dbt's own output and Dagster's step logs go to a file; the terminal shows progress.
    log_path = home.path / "logs" / f"build-{datetime.now(tz=UTC):%Y%m%dT%H%M%SZ}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for name in ("dagster", "dagster.builtin"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with (_progress(len(plans)) as progress, log_path.open("w", encoding="utf-8") as log,
          redirect_stdout(log)):
        outcomes = execute(defs, home.instance(), plans, progress, log_level="WARNING")
    click.echo(f"dbt output: {log_path}", err=True)
    failed = False
    for outcome in outcomes:
        state = "ok" if outcome.success else "FAILED"
        click.echo(f"{outcome.label}: {state}, {outcome.materialized} materialization(s), "
                   f"run {outcome.run_id}")
        for step in outcome.failed_steps:
            click.echo(f"  failed step: {step}")
        for check in outcome.failed_checks:
            click.echo(f"  failed check: {check}")
        failed = failed or not outcome.success
    if failed:
        sys.exit(1)


def _progress(runs: int) -> Any:
    from contextlib import contextmanager

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    @contextmanager
    def show() -> Any:
        console = Console(stderr=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console,
                      disable=not console.is_terminal) as bar:
            tasks: dict[str, Any] = {}

            def update(label: str, done: int, steps: int, current: str) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=steps)
                bar.update(tasks[label], completed=done, total=steps,
                           description=f"{label}: {current}" if current and done < steps
                           else label)

            yield update
        if not console.is_terminal:
            console.print(f"{runs} run(s) done")

    return show()
