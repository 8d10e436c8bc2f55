"""Helpers shared by the stores: instruments, UTC timestamps, connections from a pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg

from domain.instruments import Instrument, InstrumentId, InstrumentKind

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NANOS_PER_MICRO = 1000
_UPSERT_INSTRUMENT = (
    "insert into instruments as i (id, venue, base, quote, settle, kind, price_precision,"
    " size_precision) values ($1, $2, $3, $4, $5, $6, $7, $8)"
    " on conflict (id) do update set"
    " price_precision = greatest(i.price_precision, excluded.price_precision),"
    " size_precision = greatest(i.size_precision, excluded.size_precision), updated_at = now()"
    " where i.price_precision < excluded.price_precision"
    " or i.size_precision < excluded.size_precision")


async def upsert_instrument(
    conn: asyncpg.Connection, instrument_id: InstrumentId, price_precision: int,
    size_precision: int,
) -> None:
    """Register an instrument if new; raise its stored precisions to these if larger."""
    kind = InstrumentKind.PERPETUAL if instrument_id.settle else InstrumentKind.SPOT
    await conn.execute(_UPSERT_INSTRUMENT, str(instrument_id), instrument_id.venue,
                       instrument_id.base, instrument_id.quote, instrument_id.settle,
                       kind.value, price_precision, size_precision)


def utc_from_micros(micros: int) -> datetime:
    """Return the UTC datetime of microseconds since the epoch (exact, no float)."""
    return _EPOCH + timedelta(microseconds=micros)


class StorageUnavailable(ConnectionError):
    """The database cannot be reached right now; the operation may be retried as it was."""


# What asyncpg raises when the server goes away or refuses connections for a while.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError, TimeoutError,
    # Seen when a pool resets a connection whose server just went away ("cannot switch to
    # state ..."): the connection is unusable, the operation may be retried on another.
    asyncpg.InternalClientError,
)


@asynccontextmanager
async def connection(db: asyncpg.Connection | asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """Yield a connection: the one given, or one acquired from the pool."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            yield conn
    else:
        yield db


_SYNC_INSTRUMENT = (
    "insert into instruments as i (id, venue, base, quote, settle, kind, price_precision,"
    " size_precision, tick_size, step_size, min_qty, min_notional, max_leverage, status,"
    " synced_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now())"
    " on conflict (id) do update set"
    " price_precision = greatest(i.price_precision, excluded.price_precision),"
    " size_precision = greatest(i.size_precision, excluded.size_precision),"
    " tick_size = excluded.tick_size, step_size = excluded.step_size,"
    " min_qty = excluded.min_qty, min_notional = excluded.min_notional,"
    " max_leverage = excluded.max_leverage, status = excluded.status,"
    " synced_at = now(), updated_at = now()")


async def sync_instrument(conn: asyncpg.Connection, instrument: Instrument, status: str) -> None:
    """Store an instrument as the venue describes it (filters and status); precision only grows
    so stored data stays representable."""
    iid = instrument.id
    await conn.execute(_SYNC_INSTRUMENT, str(iid), iid.venue, iid.base, iid.quote, iid.settle,
                       instrument.kind.value, instrument.price_precision,
                       instrument.size_precision, instrument.tick_size, instrument.step_size,
                       instrument.min_qty, instrument.min_notional, instrument.max_leverage,
                       status)
