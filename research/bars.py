"""Bars as columns: a polars frame of fixed-point ints, what sweeps read from a Parquet cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from domain.series import BarSeries
from domain.timeframes import NANOS_PER_SECOND, Timeframe

COLUMNS = ("ts_open", "open", "high", "low", "close", "volume")
_INTEGER_TYPES = (pl.Int64, pl.Int128)


@dataclass(frozen=True, slots=True)
class BarFrame:
    """Bars of one instrument and timeframe: ``ts_open`` (UTC ns) and raw OHLCV as integers.

    The columnar twin of ``domain.series.BarSeries`` (same raw fixed-point values), cheap to
    slice for walk-forward windows and to hand to vectorised code without a Python loop.
    Columns are Int64, or Int128 where a raw value does not fit (fine-grained volumes: 1.3e19
    at 11 decimals in the FTX file); vectorised code needs Int64 prices.
    """

    instrument_id: InstrumentId
    timeframe: Timeframe
    price_precision: int
    size_precision: int
    frame: pl.DataFrame
    # Derived values reused by every sweep partition over the same bars (frame is immutable).
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        missing = [name for name in COLUMNS if name not in self.frame.columns]
        if missing:
            raise InvalidValue(f"bar frame lacks columns {missing}")
        wrong = [name for name in COLUMNS if self.frame.schema[name] not in _INTEGER_TYPES]
        if wrong:
            raise InvalidValue(f"bar frame columns must be Int64 or Int128, not so: {wrong}")
        if self.frame.select(pl.any_horizontal(pl.col(COLUMNS).is_null().any())).item():
            raise InvalidValue("bar frame holds nulls")

    @classmethod
    def from_series(cls, series: BarSeries) -> BarFrame:
        """Copy a ``BarSeries`` into columns (Int64, or Int128 where a value needs it)."""
        columns = [_integers(name, getattr(series, name)) for name in COLUMNS]
        frame = pl.DataFrame(columns)
        return cls(series.instrument_id, series.timeframe, series.price_precision,
                   series.size_precision, frame)

    def to_series(self) -> BarSeries:
        """Return the bars as a ``BarSeries`` (what the kernel's backtest driver reads)."""
        return BarSeries(self.instrument_id, self.timeframe, self.price_precision,
                         self.size_precision,
                         **{name: self.frame[name].to_list() for name in COLUMNS})

    def __len__(self) -> int:
        return self.frame.height

    def slice(self, rows: range) -> BarFrame:
        """Return the bars at positions ``rows`` (a step-1 range), sharing the data."""
        if rows.step != 1 or rows.start < 0 or rows.stop > len(self) or rows.stop < rows.start:
            raise InvalidValue(f"rows {rows} do not lie within 0..{len(self)}")
        return BarFrame(self.instrument_id, self.timeframe, self.price_precision,
                        self.size_precision, self.frame.slice(rows.start, len(rows)))

    def column(self, name: str) -> np.ndarray:
        """Return one Int64 column as an int64 numpy array (no copy when possible)."""
        if self.frame.schema[name] != pl.Int64:
            raise InvalidValue(f"{name} is {self.frame.schema[name]}, not Int64")
        return self.frame[name].to_numpy()

    def has_int64_prices(self) -> bool:
        """Return True when open times, opens and closes are Int64 (vectorised code needs it)."""
        return all(self.frame.schema[name] == pl.Int64 for name in ("ts_open", "open", "close"))

    def cumulative_closes(self) -> np.ndarray:
        """Return ``[0, c0, c0 + c1, ...]`` (Int64, cached): window sums are differences of it.

        Raise ``InvalidValue`` if the total could overflow Int64.
        """
        if "cumsum" not in self._cache:
            close = self.column("close")
            if self.max_abs_close() * max(len(close), 1) >= 2**62:
                raise InvalidValue("closes too large for an exact Int64 cumulative sum")
            self._cache["cumsum"] = np.concatenate(([0], np.cumsum(close, dtype=np.int64)))
        sums: np.ndarray = self._cache["cumsum"]
        return sums

    def float_closes(self) -> np.ndarray:
        """Return the raw closes as float64 (exact below 2**53; cached)."""
        if "close_f" not in self._cache:
            self._cache["close_f"] = self.column("close").astype(np.float64)
        closes: np.ndarray = self._cache["close_f"]
        return closes

    def max_abs_close(self) -> int:
        """Return the largest absolute raw close (cached)."""
        return self._max_abs("close")

    def max_abs_open(self) -> int:
        """Return the largest absolute raw open (cached)."""
        return self._max_abs("open")

    def _max_abs(self, name: str) -> int:
        key = f"max_abs_{name}"
        if key not in self._cache:
            values = self.column(name)
            self._cache[key] = int(np.abs(values).max()) if len(values) else 0
        top: int = self._cache[key]
        return top

    def close_times(self) -> np.ndarray:
        """Return each bar's close time (open + timeframe), UTC ns."""
        return self.column("ts_open") + self.timeframe.nanos

    def min_spacing_seconds(self) -> float | None:
        """Return the smallest positive spacing between open times, in seconds (as BarSeries)."""
        if "spacing" not in self._cache:
            gaps = np.diff(self.column("ts_open"))
            positive = gaps[gaps > 0]
            # int / int is one correctly rounded division: the float BarSeries computes.
            self._cache["spacing"] = (int(positive.min()) / NANOS_PER_SECOND
                                      if positive.size else None)
        spacing: float | None = self._cache["spacing"]
        return spacing

    def validate(self) -> None:
        """Raise ``InvalidValue`` naming the first bad row, as ``BarSeries.validate`` does."""
        o, h, lo, c = (pl.col(name) for name in ("open", "high", "low", "close"))
        bad = self.frame.with_row_index("row").filter(
            (pl.col("ts_open").diff() < 0) | (pl.min_horizontal(o, h, lo, c) <= 0)
            | (pl.col("volume") < 0) | (h < pl.max_horizontal(o, c, lo))
            | (lo > pl.min_horizontal(o, c)))
        if bad.height:
            self.to_series().validate()  # names the exact problem
            raise InvalidValue(f"row {bad['row'][0]}: invalid bar")


def _integers(name: str, values: list[int]) -> pl.Series:
    for dtype in _INTEGER_TYPES:
        bits = 63 if dtype == pl.Int64 else 127
        if not values or (max(values) < 2**bits and min(values) >= -(2**bits)):
            return pl.Series(name, values, dtype=dtype)
    raise InvalidValue(f"{name} holds raw values beyond Int128")
