"""PostgreSQL ``Bus`` and ``HotState``: the embedded default that joins separate processes.

Tables and the append trigger come from migration V0002__bus.sql. A message id is the decimal
``events.id``. Consumers of one group serialise on the group's row (``select ... for update``),
so each message goes to exactly one of them in whatever process they run; a blocked ``consume``
sleeps on LISTEN/NOTIFY and re-checks the table when woken.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, Self

import asyncpg

from adapters.bus.common import (
    DeadLetter,
    UnknownGroup,
    check_name,
    check_take,
    check_ttl,
    decode_value,
    encode_value,
    parse_position,
    parse_positions,
    unavailable_on,
)
from adapters.bus.listener import CHANNEL, Listener
from adapters.storage.common import CONNECTION_ERRORS
from domain.errors import InvalidValue
from domain.messaging import Delivery, Envelope, decode_envelope, encode_envelope

__all__ = ["CHANNEL", "PostgresBus", "PostgresHotState"]

_LOCK_GROUP = """
    select last_delivered_id from event_consumer_groups
    where stream = $1 and group_name = $2 for update"""
_READ = """
    select id, envelope from events where stream = $1 and id > $2 order by id limit $3"""
_QUARANTINE = """
    with moved as (delete from events where id = $1 returning id, stream, envelope, appended_at)
    insert into event_dead_letters (stream, message_id, envelope, error, appended_at)
    select stream, id, envelope, $2, appended_at from moved"""
_RECORD_PENDING = """
    insert into event_pending (stream, group_name, message_id, consumer, delivered_at)
    select $1, $2, m, $3, clock_timestamp() from unnest($4::bigint[]) as m"""
_CLAIM = """
    with stale as (
        select message_id from event_pending
        where stream = $1 and group_name = $2
          and delivered_at <= clock_timestamp() - $3::bigint * interval '1 millisecond'
        order by message_id limit $5
        for update skip locked)
    update event_pending p
    set consumer = $4, delivered_at = clock_timestamp(), delivery_count = p.delivery_count + 1
    from stale
    where p.stream = $1 and p.group_name = $2 and p.message_id = stale.message_id
    returning p.message_id, p.delivery_count"""
_LIVE = "(expires_at is null or expires_at > clock_timestamp())"


class PostgresBus:
    """A ``Bus`` over an asyncpg pool on a database migrated with V0002__bus.sql.

    One pool connection is held for LISTEN once a consumer blocks, so give the pool at least
    two. ``fallback_poll_ms`` bounds how long a blocked consumer sleeps between checks should a
    notification be lost (for instance while the listening connection is replaced).
    """

    def __init__(
        self, pool: asyncpg.Pool, *, owns_pool: bool = False, fallback_poll_ms: int = 1000
    ) -> None:
        """Use ``pool``; close it on ``close()`` only if ``owns_pool``."""
        self._pool = pool
        self._owns_pool = owns_pool
        self._fallback_s = fallback_poll_ms / 1000.0
        self._listener = Listener(pool)
        self._closed = False
        self.malformed_total = 0

    @classmethod
    async def connect(cls, dsn: str, **pool_options: Any) -> Self:
        """Create a pool for ``dsn`` (asyncpg ``create_pool`` options) that the bus owns."""
        pool_options.setdefault("min_size", 1)
        pool_options.setdefault("max_size", 4)
        return cls(await asyncpg.create_pool(dsn, **pool_options), owns_pool=True)

    async def append(self, stream: str, envelope: Envelope) -> str:
        """Append a message; return its id."""
        check_name("stream", stream)
        with unavailable_on(CONNECTION_ERRORS, "PostgreSQL bus"):
            position = await self._pool.fetchval(
                "insert into events (stream, envelope) values ($1, $2) returning id",
                stream, encode_envelope(envelope))
        return str(position)

    async def append_many(self, stream: str, envelopes: Sequence[Envelope]) -> list[str]:
        """Append messages in order in one statement; return their ids."""
        check_name("stream", stream)
        if not envelopes:
            return []
        # The append trigger numbers rows as they are inserted, in the array's order.
        encoded = [encode_envelope(e) for e in envelopes]
        with unavailable_on(CONNECTION_ERRORS, "PostgreSQL bus"):
            rows = await self._pool.fetch(
                "insert into events (stream, envelope)"
                " select $1, e from unnest($2::bytea[]) with ordinality as t(e, n) order by n"
                " returning id", stream, encoded)
        return [str(row["id"]) for row in rows]

    async def ensure_group(self, stream: str, group: str, from_start: bool = True) -> None:
        """Create a consumer group (idempotent); new groups read from the start by default."""
        check_name("stream", stream)
        check_name("group", group)
        # Starting at the end is safe against in-flight appends: the per-stream append lock
        # means anything not yet visible gets a higher position than max(id).
        start = "0" if from_start else (
            "coalesce((select max(id) from events where stream = $1), 0)")
        await self._pool.execute(
            "insert into event_consumer_groups (stream, group_name, last_delivered_id) "
            f"select $1, $2, {start} on conflict do nothing", stream, group)

    async def consume(
        self, stream: str, group: str, consumer: str, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        """Take up to ``count`` new messages for this consumer, waiting up to ``block_ms``."""
        check_name("consumer", consumer)
        check_take(count, block_ms)
        if block_ms == 0:
            return await self._take(stream, group, consumer, count)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_ms / 1000.0
        while True:
            await self._listener.start()
            if self._closed:
                return []
            # Watch before looking, so an append between the look and the sleep still wakes us.
            with self._listener.watch(stream) as appended:
                taken = await self._take(stream, group, consumer, count)
                remaining = deadline - loop.time()
                if taken or remaining <= 0:
                    return taken
                # On timeout, look once more: a lost notification costs latency, not messages.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(appended.wait(), min(remaining, self._fallback_s))

    async def ack(self, stream: str, group: str, message_ids: Sequence[str]) -> int:
        """Acknowledge messages; return how many were pending."""
        positions = parse_positions(message_ids)
        if not positions:
            return 0
        acked: int = await self._pool.fetchval(
            "with gone as (delete from event_pending where stream = $1 and group_name = $2"
            " and message_id = any($3::bigint[]) returning 1) select count(*) from gone",
            stream, group, positions)
        return acked

    async def pending(self, stream: str, group: str) -> int:
        """Return how many delivered messages are not yet acknowledged."""
        count: int = await self._pool.fetchval(
            "select count(*) from event_pending where stream = $1 and group_name = $2",
            stream, group)
        return count

    async def length(self, stream: str) -> int:
        """Return how many messages the stream holds (0 for a stream never appended to)."""
        check_name("stream", stream)
        with unavailable_on(CONNECTION_ERRORS, "PostgreSQL bus"):
            count: int = await self._pool.fetchval(
                "select count(*) from events where stream = $1", stream)
        return count

    async def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        """Take over messages another consumer left pending for at least ``min_idle_ms``."""
        check_name("consumer", consumer)
        check_take(count, min_idle_ms, "min_idle_ms")
        malformed = 0
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(
                    "select 1 from event_consumer_groups where stream = $1 and group_name = $2",
                    stream, group):
                raise UnknownGroup(stream, group)
            claimed = {r["message_id"]: r["delivery_count"] for r in await conn.fetch(
                _CLAIM, stream, group, min_idle_ms, consumer, count)}
            rows = await conn.fetch(
                "select id, envelope from events where stream = $1 and id = any($2::bigint[])"
                " order by id", stream, list(claimed))
            out, malformed = await self._decode_rows(conn, stream, rows)
            delivered = {parse_position(d.message_id) for d in out}
            # Pending entries whose message is gone (dead-lettered) have nothing to hand over.
            if gone := [p for p in claimed if p not in delivered]:
                await conn.execute(
                    "delete from event_pending where stream = $1 and group_name = $2"
                    " and message_id = any($3::bigint[])", stream, group, gone)
        self.malformed_total += malformed
        return [Delivery(d.message_id, d.envelope, claimed[parse_position(d.message_id)])
                for d in out]

    async def replay(
        self, stream: str, after: str | None = None, count: int = 1000
    ) -> list[Delivery]:
        """Read up to ``count`` messages after position ``after`` (from the start if None)."""
        check_take(count, 0)
        start = 0 if after is None else parse_position(after)
        async with self._pool.acquire() as conn, conn.transaction():
            out, _, malformed = await self._read_after(conn, stream, start, count)
        self.malformed_total += malformed
        return out

    async def read_dead_letters(
        self, stream: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """Return up to ``limit`` dead letters, oldest first, of one stream or of all."""
        rows = await self._pool.fetch(
            "select stream, message_id, envelope, error from event_dead_letters"
            " where $1::text is null or stream = $1 order by id limit $2", stream, limit)
        return [DeadLetter(r["stream"], str(r["message_id"]), bytes(r["envelope"]), r["error"])
                for r in rows]

    async def close(self) -> None:
        """Wake blocked consumers (they return empty-handed); release the connections."""
        self._closed = True
        await self._listener.close()
        if self._owns_pool:
            await self._pool.close()

    # -- internals ---------------------------------------------------------------------------

    async def _take(self, stream: str, group: str, consumer: str, count: int) -> list[Delivery]:
        async with self._pool.acquire() as conn, conn.transaction():
            last = await conn.fetchval(_LOCK_GROUP, stream, group)
            if last is None:
                raise UnknownGroup(stream, group)
            taken, position, malformed = await self._read_after(conn, stream, last, count)
            if taken:
                await conn.execute(_RECORD_PENDING, stream, group, consumer,
                                   [parse_position(d.message_id) for d in taken])
            if position != last:
                await conn.execute(
                    "update event_consumer_groups set last_delivered_id = $3"
                    " where stream = $1 and group_name = $2", stream, group, position)
        # Counted only once the transaction that moved them has committed.
        self.malformed_total += malformed
        return taken

    async def _read_after(
        self, conn: asyncpg.Connection, stream: str, position: int, count: int
    ) -> tuple[list[Delivery], int, int]:
        """Read up to ``count`` decodable messages after ``position``, dead-lettering the rest.

        Return them, the last position looked at, and how many were dead-lettered.
        """
        out: list[Delivery] = []
        malformed = 0
        while len(out) < count:
            wanted = count - len(out)
            rows = await conn.fetch(_READ, stream, position, wanted)
            if not rows:
                break
            position = rows[-1]["id"]
            decoded, bad = await self._decode_rows(conn, stream, rows)
            out += decoded
            malformed += bad
            if len(rows) < wanted:
                break
        return out, position, malformed

    @staticmethod
    async def _decode_rows(
        conn: asyncpg.Connection, stream: str, rows: Sequence[asyncpg.Record]
    ) -> tuple[list[Delivery], int]:
        out: list[Delivery] = []
        malformed = 0
        for row in rows:
            try:
                out.append(Delivery(str(row["id"]), decode_envelope(row["envelope"])))
            except InvalidValue as exc:
                # Another group's reader may have moved it first; then this one counts nothing.
                status = await conn.execute(_QUARANTINE, row["id"], str(exc))
                malformed += status == "INSERT 0 1"
        return out, malformed


_UPSERT = (
    "insert into hot_state as h (namespace, key, value, expires_at, updated_at)"
    " values ($1, $2, $3::jsonb,"
    " clock_timestamp() + $4::bigint * interval '1 millisecond', clock_timestamp())"
    " on conflict (namespace, key) do update set expires_at = excluded.expires_at,"
    " updated_at = excluded.updated_at, value = ")
_PUT = _UPSERT + "excluded.value"
# One statement: jsonb || merges top-level fields under the row lock, so concurrent writers of
# different fields never lose each other's; an expired row starts afresh.
_MERGE = _UPSERT + (
    "case when h.expires_at <= clock_timestamp() then excluded.value"
    " else h.value || excluded.value end")


class PostgresHotState:
    """A ``HotState`` over an asyncpg pool: the ``hot_state`` table of V0002__bus.sql.

    Expiry uses the database clock, the one clock every process shares. Expired rows are
    invisible; ``get_all`` and ``purge_expired`` delete them.
    """

    def __init__(self, pool: asyncpg.Pool, *, owns_pool: bool = False) -> None:
        """Use ``pool``; close it on ``close()`` only if ``owns_pool``."""
        self._pool = pool
        self._owns_pool = owns_pool

    @classmethod
    async def connect(cls, dsn: str, **pool_options: Any) -> Self:
        """Create a pool for ``dsn`` (asyncpg ``create_pool`` options) that the store owns."""
        pool_options.setdefault("min_size", 1)
        pool_options.setdefault("max_size", 4)
        return cls(await asyncpg.create_pool(dsn, **pool_options), owns_pool=True)

    async def put(
        self, namespace: str, key: str, value: Mapping[str, Any], ttl_ms: int | None = None
    ) -> None:
        """Store the latest value for a key, replacing the previous one."""
        check_name("namespace", namespace)
        check_name("key", key)
        check_ttl(ttl_ms)
        data = encode_value(value).decode()
        with unavailable_on(CONNECTION_ERRORS, "PostgreSQL hot state"):
            await self._pool.execute(
                _PUT, namespace, key, data, ttl_ms)

    async def merge(
        self, namespace: str, key: str, fields: Mapping[str, Any], ttl_ms: int | None = None
    ) -> None:
        """Set some fields of a key's value, keeping its others, and restart its TTL."""
        check_name("namespace", namespace)
        check_name("key", key)
        check_ttl(ttl_ms)
        data = encode_value(fields).decode()
        with unavailable_on(CONNECTION_ERRORS, "PostgreSQL hot state"):
            await self._pool.execute(
                _MERGE, namespace, key, data, ttl_ms)

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Return the value, or None if absent or expired."""
        raw = await self._pool.fetchval(
            f"select value from hot_state where namespace = $1 and key = $2 and {_LIVE}",
            namespace, key)
        return None if raw is None else decode_value(raw)

    async def get_all(self, namespace: str) -> dict[str, dict[str, Any]]:
        """Return every live value of a namespace by key."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "delete from hot_state where namespace = $1 and expires_at <= clock_timestamp()",
                namespace)
            rows = await conn.fetch(
                f"select key, value from hot_state where namespace = $1 and {_LIVE}", namespace)
        return {r["key"]: decode_value(r["value"]) for r in rows}

    async def delete(self, namespace: str, key: str) -> None:
        """Remove a key."""
        await self._pool.execute(
            "delete from hot_state where namespace = $1 and key = $2", namespace, key)

    async def purge_expired(self) -> int:
        """Delete every expired row of every namespace; return how many (for housekeeping)."""
        purged: int = await self._pool.fetchval(
            "with gone as (delete from hot_state where expires_at <= clock_timestamp()"
            " returning 1) select count(*) from gone")
        return purged

    async def close(self) -> None:
        """Release the pool if the store owns it."""
        if self._owns_pool:
            await self._pool.close()
