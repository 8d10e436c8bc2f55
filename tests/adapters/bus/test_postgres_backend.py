"""The bus contract on PostgreSQL, plus what only a database with several sessions can show."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from adapters.bus.postgres import PostgresBus, PostgresHotState
from domain.messaging import Bus
from tests.adapters.bus.contract import Backend, BusContract, ids_of, make_envelope


class TestPostgresBackend(BusContract):
    @pytest.fixture
    async def backend(self, shared_app_dsn: str) -> AsyncIterator[Backend]:
        pool = await asyncpg.create_pool(shared_app_dsn, min_size=1, max_size=4)
        bus = PostgresBus(pool)
        peers: list[PostgresBus] = []

        async def peer() -> Bus:
            # Its own pool and listener, as another process would have.
            peers.append(await PostgresBus.connect(shared_app_dsn))
            return peers[-1]

        async def inject_raw(stream: str, raw: bytes) -> object:
            return await pool.fetchval(
                "insert into events (stream, envelope) values ($1, $2) returning id", stream, raw)

        yield Backend(bus=bus, state=PostgresHotState(pool), connect_peer=peer,
                      inject_raw=inject_raw)
        for other in peers:
            await other.close()
        await bus.close()
        await pool.close()


@pytest.fixture
async def bus(app_dsn: str) -> AsyncIterator[PostgresBus]:
    opened = await PostgresBus.connect(app_dsn)
    yield opened
    await opened.close()


async def test_a_slow_commit_never_makes_a_consumer_skip_its_message(
        bus: PostgresBus, app_dsn: str) -> None:
    # Without the per-stream append lock, the fast append would get the higher position yet
    # commit first; the consumer would pass over the slow one's lower position for good.
    await bus.ensure_group("orders", "g")
    slow_envelope, fast_envelope = make_envelope(), make_envelope()
    slow = await asyncpg.connect(app_dsn)
    try:
        async with slow.transaction():
            await slow.execute("insert into events (stream, envelope) values ($1, $2)",
                               "orders", b'{"placeholder": true}')
            fast = asyncio.create_task(bus.append("orders", fast_envelope))
            early = await bus.consume("orders", "g", "c", block_ms=200)
            await slow.execute("update events set envelope = $1 where stream = 'orders'",
                               _encoded(slow_envelope))
        await fast
        rest = await bus.consume("orders", "g", "c", block_ms=2_000)
    finally:
        await slow.close()

    assert early == []
    assert ids_of(rest) == [slow_envelope.id, fast_envelope.id]


async def test_one_append_wakes_one_of_two_blocked_consumers_of_a_group(
        bus: PostgresBus, app_dsn: str) -> None:
    other = await PostgresBus.connect(app_dsn)
    try:
        await bus.ensure_group("quotes", "g")
        sent = make_envelope()

        async def append_soon() -> None:
            await asyncio.sleep(0.2)
            await bus.append("quotes", sent)

        one, two, _ = await asyncio.gather(
            bus.consume("quotes", "g", "c1", block_ms=700),
            other.consume("quotes", "g", "c2", block_ms=700), append_soon())
    finally:
        await other.close()

    assert sorted([ids_of(one), ids_of(two)]) == [[], [sent.id]]


async def test_a_blocked_consumer_survives_losing_its_listening_connection(
        app_dsn: str, migrated_database: str, app_role: str) -> None:
    # A fallback poll longer than the test: only a re-established LISTEN can wake it in time.
    pool = await asyncpg.create_pool(app_dsn, min_size=1, max_size=3)
    bus = PostgresBus(pool, fallback_poll_ms=60_000)
    admin = await asyncpg.connect(migrated_database)
    try:
        await bus.ensure_group("fills", "g")
        waiting = asyncio.create_task(bus.consume("fills", "g", "c", block_ms=10_000))
        await asyncio.sleep(0.3)
        killed = await admin.fetchval(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity"
            " where datname = current_database() and usename = $1 and query ilike 'listen%'",
            app_role)
        await asyncio.sleep(0.3)
        sent = make_envelope()
        started = time.monotonic()
        await bus.append("fills", sent)
        got = await asyncio.wait_for(waiting, 5)
        elapsed = time.monotonic() - started
    finally:
        await admin.close()
        await bus.close()
        await pool.close()

    assert killed == 1
    assert ids_of(got) == [sent.id]
    assert elapsed < 1.0


async def test_expired_hot_state_rows_are_deleted_lazily(app_dsn: str) -> None:
    state = await PostgresHotState.connect(app_dsn)
    try:
        await state.put("hb", "a", {"n": 1}, ttl_ms=50)
        await state.put("hb", "b", {"n": 2}, ttl_ms=50)
        await state.put("other", "c", {"n": 3}, ttl_ms=50)
        await state.put("hb", "d", {"n": 4})
        await asyncio.sleep(0.1)

        live = await state.get_all("hb")
        purged = await state.purge_expired()
    finally:
        await state.close()

    assert live == {"d": {"n": 4}}
    assert purged == 1  # "other"/"c"; get_all already removed the two of "hb"


def _encoded(envelope: object) -> bytes:
    from domain.messaging import Envelope, encode_envelope

    assert isinstance(envelope, Envelope)
    return encode_envelope(envelope)
