"""The readable backtest report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from adapters.files.reports import iso_utc
from domain.series import BarSeries
from engine.backtest import BacktestConfig, BacktestResult


def plot_run(path: Path, series: BarSeries, strategy_name: str, result: BacktestResult) -> None:
    """Chart the run (the chart module imports matplotlib only when asked)."""
    from adapters.files.charts import plot_equity

    scale = 10**series.price_precision
    title = f"{strategy_name} on {series.instrument_id} {series.timeframe}"
    plot_equity(path, title, result.curve.ts, result.curve.equity,
                [close / scale for close in series.close], result.round_trips)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def print_table(series: BarSeries, strategy_name: str, params: Any, config: BacktestConfig,
                result: BacktestResult) -> None:
    """Print the run's figures as a table on stdout."""
    m = result.metrics
    console = Console()
    settings = " ".join(f"{k}={v}" for k, v in msgspec.structs.asdict(params).items())
    console.print(f"[bold]{strategy_name}[/bold] {settings}  "
                  f"fee {config.fee_bps} bps, slippage {config.slippage_bps} bps")
    console.print(f"{series.instrument_id} {series.timeframe}: {len(series)} bars, "
                  f"{iso_utc(series.ts_open[0])} .. {iso_utc(series.ts_open[-1])}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    currency = series.instrument_id.quote
    rows = [
        ("initial cash", f"{config.initial_cash:,} {currency}"),
        ("final equity", f"{_num(m.final_equity)} {currency}"),
        ("total return", _pct(m.total_return)),
        ("max drawdown", _pct(m.max_drawdown)),
        ("sharpe (annualised)", _num(m.sharpe, 3)),
        ("sortino (annualised)", _num(m.sortino, 3)),
        ("trades", str(m.n_trades)),
        ("win rate", _pct(m.win_rate)),
        ("profit factor", _num(m.profit_factor, 3)),
        ("exposure", _pct(m.exposure)),
        ("fees paid", f"{_num(m.fees_paid)} {currency}"),
        ("orders denied by risk", str(len(result.denials))),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
