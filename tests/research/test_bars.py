"""The columnar bar frame: a faithful twin of BarSeries, sliceable, validated."""

from __future__ import annotations

import polars as pl
import pytest

from domain.errors import InvalidValue
from research.bars import BarFrame
from tests.research.support import LOCAL, SHARED, candles, frame

BTC_1H = LOCAL / "binance_BTC-USDT_1h.csv"


def test_a_series_survives_the_round_trip_exactly() -> None:
    series = candles(BTC_1H)

    back = BarFrame.from_series(series).to_series()

    assert back == series
    assert frame(BTC_1H).min_spacing_seconds() == series.min_spacing_seconds()


def test_a_slice_is_the_same_bars() -> None:
    bars = frame(BTC_1H)

    part = bars.slice(range(100, 150))

    assert list(part.to_series()) == list(bars.to_series())[100:150]
    with pytest.raises(InvalidValue, match="do not lie within"):
        bars.slice(range(0, len(bars) + 1))


def test_values_beyond_int64_become_int128_and_vectorised_code_is_told() -> None:
    bars = frame(SHARED / "ftx_BTC-PERP_1m.csv")

    assert bars.frame.schema["volume"] == pl.Int128 and bars.has_int64_prices()
    with pytest.raises(InvalidValue, match="not Int64"):
        bars.column("volume")


def test_validate_names_the_first_bad_row() -> None:
    bars = frame(BTC_1H)
    broken = bars.frame.with_columns(
        high=pl.when(pl.int_range(pl.len()) == 7).then(pl.col("low") - 1)
        .otherwise(pl.col("high")))

    bars.validate()
    with pytest.raises(InvalidValue, match="row 7"):
        BarFrame(bars.instrument_id, bars.timeframe, 2, 5, broken).validate()


def test_a_frame_needs_integer_columns_without_nulls() -> None:
    bars = frame(BTC_1H)
    with pytest.raises(InvalidValue, match="Int64 or Int128"):
        BarFrame(bars.instrument_id, bars.timeframe, 2, 5,
                 bars.frame.with_columns(pl.col("close").cast(pl.Float64)))
    with pytest.raises(InvalidValue, match="nulls"):
        BarFrame(bars.instrument_id, bars.timeframe, 2, 5,
                 bars.frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("open")))
    with pytest.raises(InvalidValue, match="lacks columns"):
        BarFrame(bars.instrument_id, bars.timeframe, 2, 5, bars.frame.drop("volume"))
