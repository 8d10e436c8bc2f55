"""Candles through PostgreSQL: COPY loads without duplicates, exact reads back into raw ints."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from adapters.files.candles_csv import instrument_from_filename, read_candles_csv
from adapters.storage.candles import CandleStore, UnknownInstrument
from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from domain.series import BarSeries
from domain.timeframes import Timeframe

CSV_NAME = "binance_BTC-USDT_1h.csv"
HOUR_NS = 3600 * 10**9


def _real_series(candles_dir: Path) -> BarSeries:
    path = candles_dir / CSV_NAME
    instrument_id, timeframe = instrument_from_filename(path)
    assert instrument_id is not None
    return read_candles_csv(path, instrument_id, timeframe)


def _slice(series: BarSeries, start: int, stop: int) -> BarSeries:
    return BarSeries(series.instrument_id, series.timeframe, series.price_precision,
                     series.size_precision, series.ts_open[start:stop], series.open[start:stop],
                     series.high[start:stop], series.low[start:stop], series.close[start:stop],
                     series.volume[start:stop])


async def test_a_real_candle_file_loads_once_and_reads_back_exactly(
    app_pool: asyncpg.Pool, candles_dir: Path,
) -> None:
    series = _real_series(candles_dir)
    store = CandleStore(app_pool)

    first = await store.copy_candles(series)
    second = await store.copy_candles(series)
    loaded = await store.load_bars(series.instrument_id, series.timeframe)
    listed = await store.list_series()

    assert (first, second) == (499, 0)
    assert await app_pool.fetchval("select count(*) from exchange_candles") == 499
    assert loaded == series
    assert len(listed) == 1
    info = listed[0]
    assert (info.instrument_id, info.timeframe, info.rows) == (
        InstrumentId.parse("BINANCE:BTC/USDT"), Timeframe.parse("1h"), 499)
    assert info.first_open_at == datetime(2018, 4, 7, 15, tzinfo=UTC)
    assert info.last_open_at.timestamp() * 10**9 == series.ts_open[-1]


async def test_a_time_range_reads_open_times_from_start_up_to_but_excluding_end(
    app_pool: asyncpg.Pool, candles_dir: Path,
) -> None:
    series = _real_series(candles_dir)
    store = CandleStore(app_pool)
    await store.copy_candles(series)

    middle = await store.load_bars(series.instrument_id, series.timeframe,
                                   series.ts_open[10], series.ts_open[20])
    # A bound between two microseconds still compares exactly.
    nudged = await store.load_bars(series.instrument_id, series.timeframe,
                                   series.ts_open[10] + 1, series.ts_open[20] + 1)
    tail = await store.load_bars(series.instrument_id, series.timeframe,
                                 start_ns=series.ts_open[-3])
    none = await store.load_bars(series.instrument_id, Timeframe.parse("4h"))

    assert middle == _slice(series, 10, 20)
    assert nudged == _slice(series, 11, 21)
    assert tail == _slice(series, len(series) - 3, len(series))
    assert len(none) == 0
    assert (none.price_precision, none.size_precision) == (series.price_precision,
                                                           series.size_precision)


async def test_the_instrument_keeps_the_largest_precision_and_reads_rescale_exactly(
    app_conn: asyncpg.Connection, candles_dir: Path,
) -> None:
    series = _real_series(candles_dir)
    store = CandleStore(app_conn)
    await store.copy_candles(series)

    await store.upsert_instrument(series.instrument_id, series.price_precision + 6, 0)
    finer = await store.load_bars(series.instrument_id, series.timeframe)

    assert (finer.price_precision, finer.size_precision) == (series.price_precision + 6,
                                                             series.size_precision)
    assert finer.open == [raw * 10**6 for raw in series.open]
    assert finer.low == [raw * 10**6 for raw in series.low]
    assert finer.volume == series.volume


async def test_repeated_open_times_in_a_series_load_the_first_bar(
    app_conn: asyncpg.Connection,
) -> None:
    iid = InstrumentId.parse("BINANCE:ETH/USDT")
    t0 = 1_704_067_200 * 10**9
    series = BarSeries(iid, Timeframe.parse("1h"), 2, 3, [t0, t0, t0 + HOUR_NS],
                       [100, 200, 300], [110, 210, 310], [90, 190, 290], [105, 205, 305],
                       [1, 2, 3])
    store = CandleStore(app_conn)

    added = await store.copy_candles(series)
    loaded = await store.load_bars(iid, series.timeframe)

    assert added == 2
    assert loaded.ts_open == [t0, t0 + HOUR_NS]
    assert loaded.open == [100, 300]
    assert await app_conn.fetchval(
        "select open from exchange_candles order by open_at limit 1") == Decimal("1.00")


async def test_a_read_that_would_round_or_names_an_unknown_instrument_fails(
    app_conn: asyncpg.Connection, admin_conn: asyncpg.Connection,
) -> None:
    iid = InstrumentId.parse("BINANCE:SOL/USDT")
    store = CandleStore(app_conn)
    await store.upsert_instrument(iid, 2, 2)
    # Written behind the store's back, with more decimals than the instrument's precision.
    await admin_conn.execute(
        "insert into exchange_candles values ($1, '1h', now(), 10.001, 11, 9, 10, 1)", str(iid))

    with pytest.raises(InvalidValue, match="more decimals than the instrument's precision"):
        await store.load_bars(iid, Timeframe.parse("1h"))
    with pytest.raises(UnknownInstrument):
        await store.load_bars(InstrumentId.parse("BINANCE:DOGE/USDT"), Timeframe.parse("1h"))


async def test_an_impossible_bar_is_refused_and_nothing_of_its_batch_is_kept(
    app_conn: asyncpg.Connection,
) -> None:
    iid = InstrumentId.parse("BINANCE:ETH/USDT")
    t0 = 1_704_067_200 * 10**9
    # The second bar's high is below its close.
    series = BarSeries(iid, Timeframe.parse("1h"), 2, 0, [t0, t0 + HOUR_NS],
                       [100, 100], [110, 100], [90, 90], [105, 105], [1, 1])

    with pytest.raises(asyncpg.CheckViolationError):
        await CandleStore(app_conn).copy_candles(series)

    assert await app_conn.fetchval("select count(*) from exchange_candles") == 0

