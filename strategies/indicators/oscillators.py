"""Momentum oscillators, updated one value at a time in O(1)."""

from __future__ import annotations

from strategies.indicators.base import Indicator
from strategies.indicators.moving_averages import _check_finite, _check_period


class RSI(Indicator):
    """Wilder's relative strength index (0..100), computed exactly as TA-Lib's RSI.

    The first value comes after `period + 1` inputs (`period` price changes), seeded with
    the plain average gain and loss of those changes; later changes are smoothed with
    Wilder's factor (period - 1) / period. When the average gain and loss are both zero
    (a flat series) the value is 0.0, as TA-Lib returns.
    """

    _WARMUP = 1  # a true range and a change need the previous close
    __slots__ = ("_avg_gain", "_avg_loss", "_count", "_inv_period", "_period", "_prev", "_value")

    def __init__(self, period: int = 14) -> None:
        """Create an RSI over `period` price changes; raise ValueError unless period >= 1."""
        self._period = _check_period(period)
        self._inv_period = 1.0 / period
        self._count = 0
        self._prev: int | float = 0
        self._avg_gain: int | float = 0.0
        self._avg_loss: int | float = 0.0
        self._value: float | None = None





    def update(self, x: int | float) -> None:
        """Add one price; raise ValueError (leaving the state unchanged) if it is not finite."""
        _check_finite(x)
        self._count += 1
        prev, self._prev = self._prev, x
        if self._count == 1:
            return
        change = x - prev
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        # Multiply, add, then scale by 1/period: TA-Lib's order, so values match it bit for bit.
        if self._count <= self._period + 1:
            self._avg_gain += gain
            self._avg_loss += loss
            if self._count <= self._period:
                return
        else:
            self._avg_gain = self._avg_gain * (self._period - 1) + gain
            self._avg_loss = self._avg_loss * (self._period - 1) + loss
        self._avg_gain *= self._inv_period
        self._avg_loss *= self._inv_period
        total = self._avg_gain + self._avg_loss
        self._value = 100.0 * (self._avg_gain / total) if total > 0 else 0.0
