"""A backend that cannot be reached raises BusUnavailable, and works again once it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from adapters.bus.postgres import PostgresBus, PostgresHotState
from adapters.bus.redis import RedisBus
from adapters.bus.redis_state import RedisHotState
from adapters.storage.connect import app_dsn
from domain.messaging import Bus, BusUnavailable, HotState
from tests.adapters.bus.contract import make_envelope
from tests.support.tcp_relay import TcpRelay


@pytest.fixture
async def relay_to_postgres(migrated_database: str) -> AsyncIterator[TcpRelay]:
    """A relay in front of the test PostgreSQL server."""
    parts = urlsplit(migrated_database)
    relay = TcpRelay(parts.hostname or "127.0.0.1", parts.port or 5432)
    await relay.start()
    yield relay
    await relay.cut()


@pytest.fixture
async def relay_to_redis(redis_url: str) -> AsyncIterator[TcpRelay]:
    """A relay in front of the test Redis server."""
    parts = urlsplit(redis_url)
    relay = TcpRelay(parts.hostname or "127.0.0.1", parts.port or 6379)
    await relay.start()
    yield relay
    await relay.cut()


async def _writes_fail_then_recover(relay: TcpRelay, bus: Bus, state: HotState) -> None:
    await bus.append_many("s", [make_envelope(seq=0)])
    await state.merge("market", "k", {"bid": "1"})

    await relay.cut()
    failures = []
    for write in (bus.append("s", make_envelope(seq=1)),
                  bus.append_many("s", [make_envelope(seq=2)]),
                  state.put("market", "k", {"bid": "2"}),
                  state.merge("market", "k", {"bid": "3"})):
        with pytest.raises(BusUnavailable) as caught:
            await write
        failures.append(caught.value)
    await relay.restore()
    await bus.append_many("s", [make_envelope(seq=4)])
    await state.merge("market", "k", {"ask": "5"})

    assert len(failures) == 4
    assert await bus.length("s") == 2
    assert await state.get("market", "k") == {"bid": "1", "ask": "5"}


async def test_postgres_writes_raise_bus_unavailable_while_the_server_is_away(
    relay_to_postgres: TcpRelay, migrated_database: str, app_role: str,
) -> None:
    dsn = app_dsn(migrated_database, app_role).replace(
        f":{urlsplit(migrated_database).port or 5432}/", f":{relay_to_postgres.port}/")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        await _writes_fail_then_recover(relay_to_postgres, PostgresBus(pool),
                                        PostgresHotState(pool))
    finally:
        pool.terminate()


async def test_redis_writes_raise_bus_unavailable_while_the_server_is_away(
    relay_to_redis: TcpRelay, redis_url: str, redis_prefix: str,
) -> None:
    url = redis_url.replace(f":{urlsplit(redis_url).port or 6379}", f":{relay_to_redis.port}")
    bus = await RedisBus.connect(url, prefix=redis_prefix)
    state = await RedisHotState.connect(url, prefix=redis_prefix)
    try:
        await _writes_fail_then_recover(relay_to_redis, bus, state)
    finally:
        await bus.close()
        await state.close()
