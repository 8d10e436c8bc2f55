"""Simple and exponential moving averages, updated one value at a time in O(1)."""

from __future__ import annotations

import math
from collections import deque

from strategies.indicators.base import Indicator


def _check_period(period: int) -> int:
    """Return `period` if it is an int >= 1; raise ValueError otherwise."""
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise ValueError(f"period must be an int >= 1, got {period!r}")
    return period


def _check_finite(x: int | float) -> None:
    """Raise ValueError unless `x` is a finite number."""
    # A NaN or infinity would silently poison every later value of a running average.
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"indicator input must be finite, got {x!r}")


class _ExactWindow:
    """Keep the last `size` inputs with their exact sum and exact sum of squares.

    Every finite float is a dyadic rational n / 2**k, so the sums are kept as Python ints
    scaled by 2**scale, where scale is the largest k seen. Adding and removing values is
    then exact: the sums never drift, whatever the length of the series or the size of a
    spike that has since left the window. Ints are the k == 0 case, so fixed-point prices
    stay exact ints throughout.
    """

    __slots__ = ("_scale", "_size", "_values", "all_ints", "sum1", "sum2")

    def __init__(self, size: int) -> None:
        """Create an empty window holding at most `size` values."""
        self._size = size
        # (n, k) pairs, so a leaving value needs no second conversion.
        self._values: deque[tuple[int, int]] = deque(maxlen=size)
        self._scale = 0
        self.sum1 = 0
        self.sum2 = 0
        self.all_ints = True

    @property
    def scale(self) -> int:
        """Return the power of two the integer sums are scaled by."""
        return self._scale

    def push(self, x: int | float) -> None:
        """Append `x`, dropping the oldest value once the window is full.

        Raise ValueError, leaving the window unchanged, if `x` is not finite.
        """
        if isinstance(x, int):
            num, k = x, 0
        else:
            try:
                num, den = x.as_integer_ratio()
            except (OverflowError, ValueError):
                raise ValueError(f"indicator input must be finite, got {x!r}") from None
            k = den.bit_length() - 1
            self.all_ints = False
        if k > self._scale:
            grow = k - self._scale
            self.sum1 <<= grow
            self.sum2 <<= 2 * grow
            self._scale = k
        values = self._values
        if len(values) == self._size:
            old_num, old_k = values[0]
            old = old_num << (self._scale - old_k)
            self.sum1 -= old
            self.sum2 -= old * old
        values.append((num, k))
        scaled = num << (self._scale - k)
        self.sum1 += scaled
        self.sum2 += scaled * scaled


class SMA:
    """Simple moving average over the last `period` inputs, with an exact running sum.

    Fixed-point prices (ints) take a lean path: a ring of ints and one running int sum, the
    cost of a crossover backtest's inner loop. The first float switches the window to the
    exact dyadic sums of `_ExactWindow`, so floats never drift either.

    `sum` and `count` are plain attributes (read them, do not assign them): a crossover reads
    them on every bar, where a property call would cost more than the update itself.
    """

    __slots__ = ("_ints", "_period", "_window", "count", "sum")

    def __init__(self, period: int) -> None:
        """Create an SMA over `period` inputs; raise ValueError unless period is an int >= 1."""
        self._period = _check_period(period)
        self._ints: deque[int] | None = deque(maxlen=period)
        self._window: _ExactWindow | None = None
        self.count = 0
        # The exact sum of the window: an int while every input was an int (so averages of
        # fixed-point prices compare exactly: a.sum * b.period vs b.sum * a.period), else the
        # exact sum rounded once to the nearest float.
        self.sum: int | float = 0

    @property
    def period(self) -> int:
        """Return the window length."""
        return self._period

    @property
    def ready(self) -> bool:
        """Return True once `period` inputs have been seen."""
        return self.count >= self._period

    @property
    def value(self) -> float | None:
        """Return the average of the last `period` inputs, or None before ready."""
        if self.count < self._period:
            return None
        w = self._window
        if w is None:
            return self.sum / self._period  # int / int is correctly rounded
        # One correctly rounded division of the exact sum: no accumulated error.
        return w.sum1 / (self._period << w.scale)

    def update(self, x: int | float) -> None:
        """Add one input; raise ValueError (leaving the state unchanged) if it is not finite."""
        ints = self._ints
        if ints is not None and type(x) is int:
            if len(ints) == self._period:
                self.sum -= ints[0]
            ints.append(x)
            self.sum += x
            self.count += 1
            return
        w = self._window
        if w is None:
            _check_finite(x)
            w = self._window = _ExactWindow(self._period)
            for kept in ints or ():
                w.push(kept)
            self._ints = None
        w.push(x)
        self.count += 1
        self.sum = w.sum1 if w.all_ints else w.sum1 / (1 << w.scale)


class EMA(Indicator):
    """Exponential moving average seeded, as TA-Lib does, with the SMA of the first inputs."""

    __slots__ = ("_alpha", "_count", "_period", "_seed_sum", "_value")

    def __init__(self, period: int) -> None:
        """Create an EMA with alpha = 2 / (period + 1); raise ValueError unless period >= 1."""
        self._period = _check_period(period)
        self._alpha = 2.0 / (period + 1)
        self._count = 0
        self._seed_sum: int | float = 0.0
        self._value: float | None = None


    @property
    def alpha(self) -> float:
        """Return the smoothing factor 2 / (period + 1)."""
        return self._alpha




    def update(self, x: int | float) -> None:
        """Add one input; raise ValueError (leaving the state unchanged) if it is not finite."""
        _check_finite(x)
        self._count += 1
        prev = self._value
        if prev is not None:
            # TA-Lib's ordering, (x - prev) * alpha + prev; TA-Lib fuses it into one fma, which
            # Python 3.11 lacks, so results can differ from TA-Lib in the last bit.
            self._value = prev + (x - prev) * self._alpha
            return
        # Summed in input order from 0.0, then divided, exactly as TA-Lib seeds it.
        self._seed_sum += x
        if self._count == self._period:
            self._value = self._seed_sum / self._period
