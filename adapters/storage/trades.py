"""Exchange trades in PostgreSQL: idempotent bulk loads with COPY.

Trades are keyed by (instrument, trade id, time); a batch written twice (a retry after a lost
connection, a replay after a restart) adds nothing the second time: at-least-once delivery
with an idempotent sink is exactly-once storage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import asyncpg

from adapters.storage.common import (
    CONNECTION_ERRORS,
    NANOS_PER_MICRO,
    StorageUnavailable,
    connection,
    upsert_instrument,
)
from domain.errors import InvalidValue
from domain.fixed import from_raw
from domain.instruments import InstrumentId
from domain.market import Trade

_STAGE = "lockgate_trades_stage"
# Raw ints travel as bigint (binary COPY of bigint is cheap, of numeric costly); a batch with a
# value beyond int64 uses the numeric twin. PostgreSQL then scales exactly.
_CREATE_STAGE = (
    "create temporary table if not exists {stage} (traded_us bigint not null,"
    " trade_id text not null, price_raw {raw} not null, qty_raw {raw} not null,"
    " aggressor text not null) on commit delete rows")
_INT64 = 2**63
_INSERT_FROM_STAGE = (
    "insert into trades (instrument_id, trade_id, traded_at, price, qty, aggressor)"
    " select $1, trade_id, timestamptz 'epoch' + traded_us * interval '1 microsecond',"
    " price_raw * $2::numeric, qty_raw * $3::numeric, aggressor"
    " from pg_temp.{stage}")
# ON CONFLICT makes every row a speculative insertion, which measured ~1.5x the cost of a plain
# insert (bench/ingest.py). Batches almost never repeat a stored trade, so the plain insert is
# tried first under a savepoint and this form runs only when it hit a duplicate.
_SKIP_DUPLICATES = " on conflict (instrument_id, trade_id, traded_at) do nothing"


class TradeStore:
    """Trades over an asyncpg connection or pool."""

    def __init__(self, db: asyncpg.Connection | asyncpg.Pool) -> None:
        self._db = db
        self._known: set[tuple[InstrumentId, int, int]] = set()

    async def copy_trades(self, trades: Sequence[Trade]) -> int:
        """Store a batch (any instruments) in one transaction; return how many were new.

        Raise ``StorageUnavailable`` when the database cannot be reached: the batch was not
        stored, or was stored whole (one transaction), and may be written again as it is.
        """
        try:
            return await self._copy(trades)
        except CONNECTION_ERRORS as exc:
            raise StorageUnavailable(f"trades not stored: {type(exc).__name__}: {exc}") from exc

    async def _copy(self, trades: Sequence[Trade]) -> int:
        groups: dict[tuple[InstrumentId, int, int], list[tuple[int, str, int, int, str]]] = (
            defaultdict(list))
        for trade in trades:
            if trade.ts_event % NANOS_PER_MICRO:
                raise InvalidValue(f"trade {trade.trade_id}: time finer than microseconds")
            # Times travel as integer microseconds; PostgreSQL makes them timestamptz exactly.
            groups[(trade.instrument_id, trade.price_precision, trade.size_precision)].append((
                trade.ts_event // NANOS_PER_MICRO, trade.trade_id, trade.price, trade.size,
                trade.aggressor.value))
        new = 0
        async with connection(self._db) as conn:
            for key in groups.keys() - self._known:
                await upsert_instrument(conn, *key)
                self._known.add(key)
            async with conn.transaction():
                for (instrument_id, price_dp, size_dp), records in groups.items():
                    raw = "bigint" if all(-_INT64 <= r[2] < _INT64 and -_INT64 <= r[3] < _INT64
                                          for r in records) else "numeric"
                    stage = f"{_STAGE}_{raw}"
                    await conn.execute(_CREATE_STAGE.format(stage=stage, raw=raw))
                    await conn.copy_records_to_table(stage, records=records)
                    new += await _insert_from_stage(
                        conn, stage, str(instrument_id), from_raw(1, price_dp),
                        from_raw(1, size_dp))
                    await conn.execute(f"truncate pg_temp.{stage}")
        return new

    async def count(self, instrument_id: InstrumentId) -> int:
        """Return how many trades of an instrument are stored."""
        async with connection(self._db) as conn:
            return int(await conn.fetchval(
                "select count(*) from trades where instrument_id = $1", str(instrument_id)))


async def _insert_from_stage(conn: asyncpg.Connection, stage: str, *args: object) -> int:
    """Move the staged rows into ``trades``, skipping stored ones; return how many were new."""
    insert = _INSERT_FROM_STAGE.format(stage=stage)
    try:
        async with conn.transaction():  # a savepoint: a duplicate undoes only this attempt
            status = await conn.execute(insert, *args)
    except asyncpg.UniqueViolationError:
        status = await conn.execute(insert + _SKIP_DUPLICATES, *args)
    return int(status.rpartition(" ")[2])
