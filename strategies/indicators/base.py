"""What every incremental indicator exposes: its period, inputs seen, readiness and value."""

from __future__ import annotations


class Indicator:
    """Read-only common state; subclasses keep ``_period``, ``_count`` and ``_value`` slots."""

    __slots__ = ()
    # Inputs needed beyond ``period`` before the first value (one previous close for RSI, ATR).
    _WARMUP = 0
    _period: int
    _count: int
    _value: float | None

    @property
    def period(self) -> int:
        """Return the window length (or the period the smoothing derives from)."""
        return self._period

    @property
    def count(self) -> int:
        """Return how many inputs have been seen."""
        return self._count

    @property
    def ready(self) -> bool:
        """Return True once the indicator has produced its first value."""
        return self._count >= self._period + self._WARMUP

    @property
    def value(self) -> float | None:
        """Return the current value, or None before ready."""
        return self._value
