"""Volatility indicators, updated one bar at a time in O(1)."""

from __future__ import annotations

import math

from strategies.indicators.base import Indicator
from strategies.indicators.moving_averages import _check_finite, _check_period, _ExactWindow


class ATR(Indicator):
    """Wilder's average true range, computed as TA-Lib's ATR.

    The true range of a bar needs the previous close, so the first bar only primes it.
    The first value comes after `period + 1` bars: the mean of the first `period` true
    ranges. Later true ranges are smoothed as alpha * tr + beta * atr with
    beta = (period - 1) / period and alpha = 1 - beta, TA-Lib's coefficients.
    """

    _WARMUP = 1  # a true range and a change need the previous close
    __slots__ = ("_alpha", "_beta", "_count", "_period", "_prev_close", "_seed_sum", "_value")

    def __init__(self, period: int = 14) -> None:
        """Create an ATR over `period` true ranges; raise ValueError unless period >= 1."""
        self._period = _check_period(period)
        self._beta = (period - 1) / period
        # Derived from beta, as TA-Lib does, so that alpha + beta == 1 exactly.
        self._alpha = 1.0 - self._beta
        self._count = 0
        self._prev_close: int | float = 0
        self._seed_sum: int | float = 0.0
        self._value: float | None = None





    def update(self, high: int | float, low: int | float, close: int | float) -> None:
        """Add one bar; raise ValueError (leaving the state unchanged) if a price is not finite."""
        _check_finite(high)
        _check_finite(low)
        _check_finite(close)
        self._count += 1
        prev_close, self._prev_close = self._prev_close, close
        if self._count == 1:
            return
        tr = max(high - low, abs(prev_close - high), abs(prev_close - low))
        if self._value is not None:
            # TA-Lib fuses this into one fma, which Python 3.11 lacks: may differ in the last bit.
            self._value = self._alpha * tr + self._beta * self._value
            return
        self._seed_sum += tr
        if self._count == self._period + 1:
            self._value = self._seed_sum / self._period


class BollingerBands(Indicator):
    """Bollinger bands: an SMA middle band +/- nbdev population standard deviations.

    Matches TA-Lib's BBANDS with matype=0 (SMA) and ddof=0. The window's sum and sum of
    squares are kept exactly (see SMA), so the variance is computed without cancellation
    or drift: it is never negative, and exactly 0 for a flat window.
    """

    __slots__ = ("_count", "_lower", "_middle", "_nbdev", "_period", "_upper", "_window")

    def __init__(self, period: int = 20, nbdev: float = 2.0) -> None:
        """Create bands over `period` inputs, `nbdev` deviations wide; validate both."""
        self._period = _check_period(period)
        if isinstance(nbdev, bool) or not isinstance(nbdev, int | float):
            raise ValueError(f"nbdev must be a finite number > 0, got {nbdev!r}")
        if not (math.isfinite(nbdev) and nbdev > 0):
            raise ValueError(f"nbdev must be a finite number > 0, got {nbdev!r}")
        self._nbdev = float(nbdev)
        self._window = _ExactWindow(period)
        self._count = 0
        self._upper: float | None = None
        self._middle: float | None = None
        self._lower: float | None = None


    @property
    def nbdev(self) -> float:
        """Return the band width in standard deviations."""
        return self._nbdev



    @property
    def upper(self) -> float | None:
        """Return the upper band, or None before ready."""
        return self._upper

    @property
    def middle(self) -> float | None:
        """Return the middle band (the SMA), or None before ready."""
        return self._middle

    @property
    def lower(self) -> float | None:
        """Return the lower band, or None before ready."""
        return self._lower

    @property
    def value(self) -> float | None:
        """Return the middle band, or None before ready."""
        return self._middle

    def update(self, x: int | float) -> None:
        """Add one input; raise ValueError (leaving the state unchanged) if it is not finite."""
        w = self._window
        w.push(x)
        self._count += 1
        if self._count < self._period:
            return
        n = self._period
        # n**2 * variance * 4**scale, exact and >= 0; each division below rounds once.
        spread = n * w.sum2 - w.sum1 * w.sum1
        stddev = math.sqrt(spread / ((n * n) << (2 * w.scale)))
        middle = w.sum1 / (n << w.scale)
        width = stddev * self._nbdev
        self._middle = middle
        self._upper = middle + width
        self._lower = middle - width
