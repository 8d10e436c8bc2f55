"""Build bar series by hand for strategy tests (prices in whole units, precision 2)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from domain.instruments import InstrumentId
from domain.series import BarSeries
from domain.timeframes import Timeframe
from engine.backtest import BacktestConfig, BacktestResult, run_backtest
from risk.gate import RiskEngine
from strategies.base import Strategy

IID = InstrumentId("TEST", "BTC", "USDT")
HOUR = Timeframe(3600)
START_NS = 1_700_000_000 * 10**9
CENTS = 100
NO_FEES = BacktestConfig(initial_cash=Decimal(10_000), fee_bps=Decimal(0))


def series(closes: Sequence[float], *, wick: float = 0.5,
           lows: dict[int, float] | None = None) -> BarSeries:
    """Return hourly bars: open = previous close, high/low = max/min(open, close) +- ``wick``.

    ``lows`` overrides the low of chosen bars (to make a bar touch a stop).
    """
    out = BarSeries(IID, HOUR, 2, 0)
    previous = closes[0]
    for i, close in enumerate(closes):
        open_ = previous
        low = lows.get(i, min(open_, close) - wick) if lows else min(open_, close) - wick
        out.ts_open.append(START_NS + i * HOUR.nanos)
        out.open.append(round(open_ * CENTS))
        out.high.append(round((max(open_, close) + wick) * CENTS))
        out.low.append(round(min(low, open_, close) * CENTS))
        out.close.append(round(close * CENTS))
        out.volume.append(1)
        previous = close
    out.validate()
    return out


def backtest(strategy: Strategy[Any], bars: BarSeries,
             config: BacktestConfig = NO_FEES) -> BacktestResult:
    """Run the kernel with all-in sizing."""
    return run_backtest(bars, strategy, RiskEngine(), config)
