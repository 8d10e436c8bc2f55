"""Performance figures of a run, from its bar-close equity curve and its round trips.

Definitions (fractions, not percent; ``None`` where a figure is undefined):
- total_return = final / initial - 1
- max_drawdown = largest ``1 - equity / running peak`` of bar-close equity (positive)
- sharpe = mean / sample standard deviation of the N-1 simple returns of bar-close equity,
  times ``sqrt(365 * 86400 / smallest positive spacing between bars in seconds)``
- sortino = the same with ``sqrt(mean(min(r, 0) ** 2))`` over all returns as the deviation
- win_rate, profit_factor over closed round trips (P&L net of both fees)
- exposure = share of bars that closed holding a position
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal

import numpy as np

from engine.portfolio import RoundTrip

SECONDS_PER_YEAR = 365 * 86400


@dataclass(frozen=True, slots=True)
class Metrics:
    """The headline figures of a backtest."""

    n_trades: int
    final_equity: float
    total_return: float
    max_drawdown: float
    sharpe: float | None
    sortino: float | None
    win_rate: float | None
    profit_factor: float | None
    exposure: float
    fees_paid: float

    def as_dict(self) -> dict[str, float | int | None]:
        """Return the figures by name, ready for JSON."""
        return asdict(self)


def compute_metrics(
    equity: Sequence[float],
    min_spacing_seconds: float | None,
    initial_cash: Decimal,
    final_equity: Decimal,
    round_trips: Sequence[RoundTrip],
    exposed_bars: int,
    fees_paid: Decimal,
) -> Metrics:
    """Compute the figures; every input comes from one finished run."""
    curve = np.asarray(equity, dtype=np.float64)
    sharpe, sortino = _risk_adjusted(curve, min_spacing_seconds)
    closed = [float(trip.pnl()) for trip in round_trips if trip.is_closed]
    wins = [pnl for pnl in closed if pnl > 0]
    losses = [pnl for pnl in closed if pnl < 0]
    return Metrics(
        n_trades=len(round_trips),
        final_equity=float(final_equity),
        total_return=float(final_equity / initial_cash - 1),
        max_drawdown=_max_drawdown(curve),
        sharpe=sharpe,
        sortino=sortino,
        win_rate=len(wins) / len(closed) if closed else None,
        profit_factor=math.fsum(wins) / -math.fsum(losses) if losses else None,
        exposure=exposed_bars / len(curve) if len(curve) else 0.0,
        fees_paid=float(fees_paid),
    )


def _max_drawdown(curve: np.ndarray) -> float:
    if not len(curve):
        return 0.0
    peaks = np.maximum.accumulate(curve)
    return float(max(0.0, float(np.max(1.0 - curve / peaks))))


def _risk_adjusted(
    curve: np.ndarray, min_spacing_seconds: float | None
) -> tuple[float | None, float | None]:
    if len(curve) < 3 or not min_spacing_seconds:
        return None, None
    returns = curve[1:] / curve[:-1] - 1.0
    n = len(returns)
    # fsum rounds each sum once, so the figures do not depend on summation order.
    mean = math.fsum(returns.tolist()) / n
    annualise = math.sqrt(SECONDS_PER_YEAR / min_spacing_seconds)
    variance = math.fsum(((returns - mean) ** 2).tolist()) / (n - 1)
    downside = math.fsum((np.minimum(returns, 0.0) ** 2).tolist()) / n
    sharpe = mean / math.sqrt(variance) * annualise if variance > 0 else None
    sortino = mean / math.sqrt(downside) * annualise if downside > 0 else None
    return sharpe, sortino
