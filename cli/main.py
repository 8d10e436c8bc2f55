"""Entry point of the ``lockgate`` command; sub-commands import their dependencies lazily."""

from __future__ import annotations

import click

from cli.backtest import backtest


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lockgate")
def lockgate() -> None:
    """Lockgate: declarative data-and-signal platform for crypto trading."""


lockgate.add_command(backtest)


def main() -> None:
    """Run the command line."""
    lockgate()


if __name__ == "__main__":
    main()
