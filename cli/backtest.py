"""``lockgate backtest``: run a strategy over candles and report its figures."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from cli.options import NON_NEGATIVE, POSITIVE, InputError
from cli.strategies import parse_params, strategy_class


@click.command()
@click.option("--strategy", "strategy_name", default="ma_crossover", show_default=True,
              help="Strategy name (built-in or from a lockgate.strategies entry point).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Strategy parameter; repeat for several (e.g. --param fast=20).")
@click.option("--csv", "csv_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Candles CSV: ts,open,high,low,close,volume (ts = bar open, ISO-8601 UTC). "
                   "Without it, candles come from the database (--exchange/--symbol/--timeframe).")
@click.option("--exchange", default=None, help="Venue, e.g. binance (CSV: default from its name).")
@click.option("--symbol", default=None, help="BASE/QUOTE, e.g. BTC/USDT.")
@click.option("--timeframe", default=None, metavar="TF",
              help="Bar length (1m, 1h, 1d...); finer CSV rows are aggregated into it.")
@click.option("--fee-bps", type=NON_NEGATIVE, default=Decimal(10), show_default=True,
              help="Fee per side, basis points of notional.")
@click.option("--slippage-bps", type=NON_NEGATIVE, default=Decimal(0), show_default=True,
              help="Slippage on market and stop fills, basis points.")
@click.option("--initial-cash", type=POSITIVE, default=Decimal(10_000), show_default=True)
@click.option("--position-pct", type=POSITIVE, default=None,
              help="Spend this percent of equity per entry (default 100).")
@click.option("--risk-pct", type=POSITIVE, default=None,
              help="Risk this percent of equity per trade (needs --stop-pct).")
@click.option("--stop-pct", type=POSITIVE, default=None,
              help="Stop-loss distance below the entry fill, percent.")
@click.option("--max-drawdown-pct", type=POSITIVE, default=None,
              help="Halt new entries once equity falls this percent below its peak.")
@click.option("--max-position-notional", type=POSITIVE, default=None,
              help="Deny entries that would hold more than this notional (quote currency).")
@click.option("--trades-out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=None, help="Write the round trips to this CSV.")
@click.option("--plot", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=None, help="Write a PNG of equity vs buy-and-hold with entries and exits.")
@click.option("--save", is_flag=True,
              help="Store the run (signals, orders, fills, equity curve) in the database.")
@click.option("--json", "as_json", is_flag=True,
              help="Print exactly one JSON object on stdout (logs and progress on stderr).")
def backtest(
    strategy_name: str, params: tuple[str, ...], csv_path: Path | None, exchange: str | None,
    symbol: str | None, timeframe: str | None, fee_bps: Decimal, slippage_bps: Decimal,
    initial_cash: Decimal,
    position_pct: Decimal | None, risk_pct: Decimal | None, stop_pct: Decimal | None,
    max_drawdown_pct: Decimal | None, max_position_notional: Decimal | None,
    trades_out: Path | None, plot: Path | None, save: bool, as_json: bool,
) -> None:
    """Backtest a strategy over candles with the one trading kernel."""
    from adapters.files.reports import write_trades_csv
    from cli.backtest_wiring import build_risk, make_strategy
    from cli.progress import bar_progress
    from cli.report import print_table
    from domain.errors import InvalidValue
    from engine.backtest import BacktestConfig, run_backtest

    try:
        series = _load_bars(csv_path, exchange, symbol, timeframe)
        strategy = make_strategy(strategy_class(strategy_name), parse_params(params),
                                 series.instrument_id)
        risk = build_risk(position_pct, risk_pct, stop_pct, max_drawdown_pct,
                          max_position_notional)
        config = BacktestConfig(initial_cash=initial_cash, fee_bps=fee_bps,
                                slippage_bps=slippage_bps)
    except InvalidValue as exc:
        raise InputError(str(exc)) from None
    started_at = datetime.now(tz=UTC)
    with bar_progress(len(series)) as progress:
        result = run_backtest(series, strategy, risk, config, progress=progress)
    if save:
        run_id = _save(series, strategy_name, strategy, config, result, started_at)
        click.echo(f"saved run {run_id}", err=True)
    if trades_out is not None:
        write_trades_csv(trades_out, result.round_trips, result.final_mark)
    if plot is not None:
        from cli.report import plot_run

        plot_run(plot, series, strategy_name, result)
    figures = result.metrics.as_dict()
    if as_json:
        click.echo(json.dumps({key: _json_number(value) for key, value in figures.items()},
                              allow_nan=False))
    else:
        print_table(series, strategy_name, strategy.config, config, result)


def _load_bars(csv_path: Path | None, exchange: str | None, symbol: str | None,
               timeframe: str | None) -> Any:
    from cli.sources import csv_series

    if csv_path is not None:
        return csv_series(csv_path, exchange, symbol, timeframe)  # starts no database
    if not (exchange and symbol and timeframe):
        raise click.UsageError("give --csv FILE, or --exchange, --symbol and --timeframe")
    return asyncio.run(_db_bars(exchange, symbol, timeframe))


async def _db_bars(exchange: str, symbol: str, timeframe: str) -> Any:
    from cli.db import _settings, open_app_connection
    from cli.sources import db_series

    conn = await open_app_connection(_settings())
    try:
        return await db_series(conn, exchange, symbol, timeframe)
    finally:
        await conn.close()


def _save(series: Any, strategy_name: str, strategy: Any, config: Any, result: Any,
          started_at: datetime) -> str:
    from cli.save import save_run

    return asyncio.run(save_run(series, strategy_name, strategy, config, result, started_at))


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
