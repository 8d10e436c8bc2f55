"""The ML strategy's features, computed incrementally from closes (one definition for both
training tables and live inference, so they cannot drift apart)."""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated

import msgspec
from msgspec import Meta

from strategies.indicators import RSI, SMA


class FeatureSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which features: ``lags`` one-bar log returns, an RSI and the gap to an SMA.

    - ``ret_1`` .. ``ret_<lags>``: log(close[t-j+1] / close[t-j]), newest first;
    - ``rsi``: RSI(``rsi_period``) / 100 - 0.5, centred on zero;
    - ``sma_gap``: close / SMA(``sma_period``) - 1.

    Every value at bar t uses closes at or before t only.
    """

    lags: Annotated[int, Meta(ge=1, le=50)] = 5
    rsi_period: Annotated[int, Meta(ge=2)] = 14
    sma_period: Annotated[int, Meta(ge=2)] = 20

    def names(self) -> tuple[str, ...]:
        """Return the feature names in model order."""
        return (*(f"ret_{j}" for j in range(1, self.lags + 1)), "rsi", "sma_gap")

    def warmup(self) -> int:
        """Return how many bars pass before the first feature vector."""
        return max(self.lags + 1, self.rsi_period + 1, self.sma_period)

    def state(self) -> FeatureState:
        """Return a fresh incremental calculator."""
        return FeatureState(self)


class FeatureState:
    """Feed closes one at a time; get the feature vector of each bar once warm. O(lags)."""

    __slots__ = ("_previous", "_returns", "_rsi", "_sma", "_sma_period")

    def __init__(self, spec: FeatureSpec) -> None:
        """Start empty."""
        self._returns: deque[float] = deque(maxlen=spec.lags)
        self._rsi = RSI(spec.rsi_period)
        self._sma = SMA(spec.sma_period)
        self._sma_period = spec.sma_period
        self._previous: int | float | None = None

    def update(self, close: int | float) -> tuple[float, ...] | None:
        """Add one close (raw fixed-point or float); return the features, or None while warming."""
        if close <= 0 or not math.isfinite(close):
            raise ValueError(f"a close must be positive and finite, got {close!r}")
        previous, self._previous = self._previous, close
        if previous is not None:
            self._returns.appendleft(math.log(close / previous))
        self._rsi.update(close)
        self._sma.update(close)
        rsi = self._rsi.value
        mean = self._sma.value
        if rsi is None or mean is None or len(self._returns) < (self._returns.maxlen or 0):
            return None
        return (*self._returns, rsi / 100.0 - 0.5, close / mean - 1.0)
