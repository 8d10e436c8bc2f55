"""A columnar run of bars of one instrument and timeframe: how history travels in bulk."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from domain.market import Bar, bar_problem
from domain.timeframes import NANOS_PER_SECOND, Timeframe


@dataclass(slots=True)
class BarSeries:
    """Parallel columns of raw fixed-point prices and sizes, with UTC nanosecond open times.

    Rows are in time order; a repeated open time is kept as its own row (bars are rows).

    A bar's close time is its open time plus ``timeframe`` (rows may be further apart: gaps
    stay gaps, nothing is forward-filled).
    """

    instrument_id: InstrumentId
    timeframe: Timeframe
    price_precision: int
    size_precision: int
    ts_open: list[int] = field(default_factory=list)
    open: list[int] = field(default_factory=list)
    high: list[int] = field(default_factory=list)
    low: list[int] = field(default_factory=list)
    close: list[int] = field(default_factory=list)
    volume: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts_open)

    def validate(self) -> None:
        """Raise ``InvalidValue`` naming the first bad row (0-based), if any."""
        columns = (self.ts_open, self.open, self.high, self.low, self.close, self.volume)
        if len({len(column) for column in columns}) != 1:
            raise InvalidValue("bar columns differ in length")
        step = self.timeframe.nanos
        previous = None
        for i, ts in enumerate(self.ts_open):
            if previous is not None and ts < previous:
                raise InvalidValue(f"row {i}: open time is before the previous row's")
            problem = bar_problem(ts, ts + step, self.open[i], self.high[i], self.low[i],
                                  self.close[i], self.volume[i])
            if problem:
                raise InvalidValue(f"row {i}: {problem}")
            previous = ts

    def __iter__(self) -> Iterator[Bar]:
        """Yield the rows as ``Bar`` objects, in order."""
        iid, step = self.instrument_id, self.timeframe.nanos
        pp, sp = self.price_precision, self.size_precision
        for ts, o, h, lo, c, v in zip(self.ts_open, self.open, self.high, self.low,
                                      self.close, self.volume, strict=True):
            yield Bar(iid, ts, ts + step, o, h, lo, c, v, pp, sp)

    def min_spacing_seconds(self) -> float | None:
        """Return the smallest positive spacing between consecutive open times, in seconds."""
        ts = self.ts_open
        gaps = [b - a for a, b in pairwise(ts) if b > a]
        return min(gaps) / NANOS_PER_SECOND if gaps else None

    def resample(self, timeframe: Timeframe) -> BarSeries:
        """Aggregate into longer bars aligned to the epoch; empty buckets make no bar."""
        if timeframe.seconds % self.timeframe.seconds:
            raise InvalidValue(f"{timeframe} is not a whole multiple of {self.timeframe}")
        out = BarSeries(self.instrument_id, timeframe, self.price_precision, self.size_precision)
        step = timeframe.nanos
        for i, ts in enumerate(self.ts_open):
            bucket = ts - ts % step
            if out.ts_open and out.ts_open[-1] == bucket:
                out.high[-1] = max(out.high[-1], self.high[i])
                out.low[-1] = min(out.low[-1], self.low[i])
                out.close[-1] = self.close[i]
                out.volume[-1] += self.volume[i]
            else:
                out.ts_open.append(bucket)
                out.open.append(self.open[i])
                out.high.append(self.high[i])
                out.low.append(self.low[i])
                out.close.append(self.close[i])
                out.volume.append(self.volume[i])
        return out
