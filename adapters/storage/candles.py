"""Exchange candles in PostgreSQL: bulk loads with COPY and exact reads back into raw ints.

Prices and volumes are stored as ``numeric`` written from the series' fixed-point ints, and read
back scaled by the instrument's precision inside PostgreSQL, so no value ever passes through a
float. An instrument's precision only grows (the largest seen), so every stored value stays
representable at it.
"""

from __future__ import annotations

import io
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from adapters.storage.common import (
    NANOS_PER_MICRO,
    connection,
    upsert_instrument,
    utc_from_micros,
)
from domain.errors import InvalidValue
from domain.fixed import from_raw, pow10
from domain.instruments import InstrumentId
from domain.ports import BarStore
from domain.series import BarSeries
from domain.timeframes import Timeframe

log = logging.getLogger(__name__)


_STAGE = "lockgate_candles_stage"
_STAGE_COLUMNS = ("open_at", "open_raw", "high_raw", "low_raw", "close_raw", "volume_raw")
# Raw ints travel as bigint (binary COPY of Decimals costs several times more) unless one does
# not fit; PostgreSQL then scales them exactly, numeric multiplication never rounds.
_CREATE_STAGE = (
    f"create temporary table {_STAGE} (open_at timestamptz not null, open_raw {{raw}} not null,"
    " high_raw {raw} not null, low_raw {raw} not null, close_raw {raw} not null,"
    " volume_raw {raw} not null) on commit drop")
_INSERT_FROM_STAGE = (
    "insert into exchange_candles (instrument_id, timeframe, open_at, open, high, low, close,"
    " volume) select $1, $2, open_at, open_raw * $3::numeric, high_raw * $3::numeric,"
    " low_raw * $3::numeric, close_raw * $3::numeric, volume_raw * $4::numeric"
    f" from pg_temp.{_STAGE}"
    " on conflict (instrument_id, timeframe, open_at) do nothing")
_INT64 = 2**63
# Scaled and trimmed in SQL: a value that is not a whole number at the precision keeps its
# decimal point, which the int() parse below refuses.
_SELECT_BARS = (
    "select (extract(epoch from open_at) * 1000000000)::bigint, trim_scale(open * $3),"
    " trim_scale(high * $3), trim_scale(low * $3), trim_scale(close * $3),"
    " trim_scale(volume * $4) from exchange_candles where instrument_id = $1 and timeframe = $2")


class UnknownInstrument(LookupError):
    """No instrument of that id is stored."""


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """What is stored of one instrument and timeframe (for a status view)."""

    instrument_id: InstrumentId
    timeframe: Timeframe
    rows: int
    first_open_at: datetime
    last_open_at: datetime


class CandleStore:
    """Exchange candles over an asyncpg connection or pool."""

    def __init__(self, db: asyncpg.Connection | asyncpg.Pool) -> None:
        self._db = db

    async def upsert_instrument(
        self, instrument_id: InstrumentId, price_precision: int, size_precision: int
    ) -> None:
        """Register the instrument if new; raise its stored precisions to these if larger."""
        async with connection(self._db) as conn:
            await upsert_instrument(conn, instrument_id, price_precision, size_precision)

    async def copy_candles(self, series: BarSeries) -> int:
        """Bulk-load ``series`` with COPY; return how many bars were new.

        Bars already stored (same instrument, timeframe and open time) are left as they are, so
        loading the same data twice adds nothing; of bars repeating an open time within the
        series, the first is kept.
        """
        records = _records(series)
        if not records:
            return 0
        async with connection(self._db) as conn:
            # Its own short statement before the load: the instrument row is not held locked
            # while the bars load, and readers never see bars finer than the stored precision.
            await upsert_instrument(conn, series.instrument_id, series.price_precision,
                                     series.size_precision)
            async with conn.transaction():
                await conn.execute(_CREATE_STAGE.format(raw=_raw_type(series)))
                await conn.copy_records_to_table(_STAGE, records=records, columns=_STAGE_COLUMNS)
                # from_raw(1, p) is the exact unit of a raw int: 0.01 at precision 2.
                status = await conn.execute(
                    _INSERT_FROM_STAGE, str(series.instrument_id), str(series.timeframe),
                    from_raw(1, series.price_precision), from_raw(1, series.size_precision))
                # Dropped here too, not only at commit, for callers inside a transaction.
                await conn.execute(f"drop table pg_temp.{_STAGE}")
        return int(status.rpartition(" ")[2])

    async def load_bars(
        self, instrument_id: InstrumentId, timeframe: Timeframe,
        start_ns: int | None = None, end_ns: int | None = None,
    ) -> BarSeries:
        """Return the stored bars with ``start_ns <= open time < end_ns`` (UTC nanoseconds).

        Values are exact raw ints at the instrument's stored precision; raise
        ``UnknownInstrument`` if the instrument was never stored.
        """
        query, bounds = _SELECT_BARS, []
        # timestamptz holds microseconds: round bounds up so the comparison stays exact.
        if start_ns is not None:
            bounds.append(utc_from_micros(-(-start_ns // NANOS_PER_MICRO)))
            query += f" and open_at >= ${len(bounds) + 4}"
        if end_ns is not None:
            bounds.append(utc_from_micros(-(-end_ns // NANOS_PER_MICRO)))
            query += f" and open_at < ${len(bounds) + 4}"
        query += " order by open_at"
        buffer = io.BytesIO()
        async with connection(self._db) as conn, _snapshot(conn):
            row = await conn.fetchrow(
                "select price_precision, size_precision from instruments where id = $1",
                str(instrument_id))
            if row is None:
                raise UnknownInstrument(f"no instrument {instrument_id} is stored")
            price_precision, size_precision = row["price_precision"], row["size_precision"]
            await conn.copy_from_query(
                query, str(instrument_id), str(timeframe), Decimal(pow10(price_precision)),
                Decimal(pow10(size_precision)), *bounds, output=buffer, format="csv")
        series = BarSeries(instrument_id, timeframe, price_precision, size_precision)
        _parse_into(series, buffer.getvalue().decode("ascii"))
        return series

    async def list_series(self) -> list[SeriesInfo]:
        """Return every stored instrument and timeframe with its row count and time span."""
        async with connection(self._db) as conn:
            rows = await conn.fetch(
                "select instrument_id, timeframe, count(*) as row_count,"
                " min(open_at) as first_open_at, max(open_at) as last_open_at"
                " from exchange_candles group by instrument_id, timeframe")
        found = [SeriesInfo(InstrumentId.parse(r["instrument_id"]), Timeframe.parse(r["timeframe"]),
                            r["row_count"], r["first_open_at"], r["last_open_at"]) for r in rows]
        found.sort(key=lambda info: (str(info.instrument_id), info.timeframe))
        return found

def _snapshot(conn: asyncpg.Connection) -> AbstractAsyncContextManager[Any]:
    # Precision and bars must come from one snapshot; a caller's own transaction decides
    # for itself (asyncpg refuses a nested block of another isolation level).
    if conn.is_in_transaction():
        return nullcontext()
    transaction: AbstractAsyncContextManager[Any] = conn.transaction(
        isolation="repeatable_read", readonly=True)
    return transaction


def _records(series: BarSeries) -> list[tuple[datetime, int, int, int, int, int]]:
    seen: set[int] = set()
    records = []
    for ts, o, h, lo, c, v in zip(series.ts_open, series.open, series.high, series.low,
                                  series.close, series.volume, strict=True):
        if ts in seen:
            continue
        seen.add(ts)
        if ts % NANOS_PER_MICRO:
            raise InvalidValue(f"open time {ts} ns is finer than the microseconds stored")
        records.append((utc_from_micros(ts // NANOS_PER_MICRO), o, h, lo, c, v))
    if len(records) < len(series):
        log.warning("%s %s: %d bar(s) repeat an open time; the first of each is loaded",
                    series.instrument_id, series.timeframe, len(series) - len(records))
    return records


def _raw_type(series: BarSeries) -> str:
    columns = (series.open, series.high, series.low, series.close, series.volume)
    fits = all(min(column) >= -_INT64 and max(column) < _INT64 for column in columns)
    return "bigint" if fits else "numeric"


def _parse_into(series: BarSeries, text: str) -> None:
    columns = (series.ts_open, series.open, series.high, series.low, series.close,
               series.volume)
    # One flat C-level parse, then every sixth value per column: several times faster than
    # splitting line by line.
    fields = text.replace("\n", ",").split(",")
    if fields[-1] == "":
        fields.pop()
    try:
        values = list(map(int, fields))
    except ValueError:
        raise InvalidValue(
            f"{series.instrument_id} {series.timeframe}: a stored value has more decimals "
            "than the instrument's precision") from None
    for i, column in enumerate(columns):
        column.extend(values[i::len(columns)])


def _implements_bar_store(store: CandleStore) -> BarStore:
    # mypy checks here, once, that CandleStore satisfies the domain's BarStore port.
    return store
