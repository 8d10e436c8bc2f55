"""The simulated clock: time moves only when the driver says so."""

from __future__ import annotations


class SimulatedClock:
    """A clock set by the driver (the backtest sets it from the data)."""

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def timestamp_ns(self) -> int:
        """Return the current simulated time in UTC nanoseconds."""
        return self._now

    def set_time(self, ts_ns: int) -> None:
        """Move time forward to ``ts_ns``; time never runs backwards."""
        if ts_ns < self._now:
            raise ValueError(f"clock cannot go back from {self._now} to {ts_ns}")
        self._now = ts_ns
