"""Price channels: the highest high and lowest low of a window, in amortised O(1) per bar."""

from __future__ import annotations

from collections import deque

from strategies.indicators.base import Indicator
from strategies.indicators.moving_averages import _check_finite, _check_period


class DonchianChannel(Indicator):
    """Donchian channel: the highest high and the lowest low of the last `period` bars.

    Matches TA-Lib's MAX(high) and MIN(low) exactly (a max is exact). Each bound keeps a
    monotonic deque of (index, value): every bar enters and leaves it once, so an update is
    O(1) amortised instead of a rescan of the window.
    """

    __slots__ = ("_count", "_highs", "_lows", "_period", "_value")

    def __init__(self, period: int = 20) -> None:
        """Create a channel over `period` bars; raise ValueError unless period is an int >= 1."""
        self._period = _check_period(period)
        self._count = 0
        self._highs: deque[tuple[int, int | float]] = deque()
        self._lows: deque[tuple[int, int | float]] = deque()
        self._value: float | None = None

    @property
    def upper(self) -> int | float | None:
        """Return the highest high of the window (the input's type), or None before ready."""
        return self._highs[0][1] if self._count >= self._period else None

    @property
    def lower(self) -> int | float | None:
        """Return the lowest low of the window, or None before ready."""
        return self._lows[0][1] if self._count >= self._period else None

    @property
    def value(self) -> float | None:
        """Return the channel's middle, (upper + lower) / 2, or None before ready."""
        return self._value

    def update(self, high: int | float, low: int | float) -> None:
        """Add one bar's high and low; raise ValueError (state unchanged) if one is not finite."""
        _check_finite(high)
        _check_finite(low)
        if low > high:
            raise ValueError(f"low {low!r} is above high {high!r}")
        i = self._count
        highs, lows = self._highs, self._lows
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((i, high))
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((i, low))
        oldest = i - self._period + 1
        if highs[0][0] < oldest:
            highs.popleft()
        if lows[0][0] < oldest:
            lows.popleft()
        self._count = i + 1
        if self._count >= self._period:
            self._value = (highs[0][1] + lows[0][1]) / 2
