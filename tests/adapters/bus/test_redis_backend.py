"""The bus contract on Redis, plus what only Redis shows: trimming, dead-letter streams, TTLs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.utils
from redis.asyncio import Redis

from adapters.bus.redis import RedisBus, glob_escape
from adapters.bus.redis_state import RedisHotState
from domain.errors import InvalidValue
from domain.messaging import Bus
from tests.adapters.bus.contract import Backend, BusContract, ids_of, make_envelope, position


class TestRedisBackend(BusContract):
    @pytest.fixture
    async def backend(self, redis_url: str, redis_prefix: str) -> AsyncIterator[Backend]:
        bus = await RedisBus.connect(redis_url, prefix=redis_prefix)
        state = await RedisHotState.connect(redis_url, prefix=redis_prefix)
        peers: list[RedisBus] = []

        async def peer() -> Bus:
            # Its own client and connections, as another process would have.
            peers.append(await RedisBus.connect(redis_url, prefix=redis_prefix))
            return peers[-1]

        yield Backend(bus=bus, state=state, connect_peer=peer, inject_raw=bus.append_raw)
        for other in peers:
            await other.close()
        await bus.close()
        await state.close()


@pytest.fixture
async def client(redis_url: str, redis_prefix: str) -> AsyncIterator[Redis]:
    """A raw client, to look at what the backends wrote (the prefix fixture cleans up)."""
    opened = Redis.from_url(redis_url)
    yield opened
    await opened.aclose()


async def command(client: Redis, *args: object) -> Any:
    """Send one command as written (redis-py leaves execute_command unannotated)."""
    execute: Callable[..., Awaitable[Any]] = client.execute_command
    return await execute(*args)


async def test_maxlen_bounds_the_stream_length(client: Redis, redis_prefix: str) -> None:
    bus = RedisBus(client, prefix=redis_prefix, maxlen=10)
    config = await command(client, "CONFIG", "GET", "stream-node-max-entries")
    node_size = int(config[b"stream-node-max-entries"])
    sent = [await bus.append("ticks", make_envelope(seq=i)) for i in range(3 * node_size)]

    length = await client.xlen(bus.stream_key("ticks"))
    kept = await bus.replay("ticks", count=10_000)

    # "MAXLEN ~" trims whole macro-nodes: at least maxlen stay, at most one node more.
    assert 10 <= length <= 10 + node_size
    assert [d.message_id for d in kept] == sent[-length:]


async def test_malformed_entries_go_to_the_dead_letter_stream(
        client: Redis, redis_prefix: str) -> None:
    bus = RedisBus(client, prefix=redis_prefix)
    await bus.ensure_group("orders", "g")
    good = make_envelope()
    no_field = (await command(client, "XADD", bus.stream_key("orders"), "*", "x", "1")).decode()
    garbage = await bus.append_raw("orders", b"not json")
    await bus.append("orders", good)
    await bus.append_raw("fills", b"{}")

    got = await bus.consume("orders", "g", "c")
    await bus.replay("fills")  # a reader outside any group dead-letters too
    dead = [fields for _, fields in await command(
        client, "XRANGE", bus.dead_letter_key("orders"), "-", "+")]
    letters = await bus.read_dead_letters()

    assert ids_of(got) == [good.id]
    assert await client.xlen(bus.stream_key("orders")) == 1  # moved, not copied
    assert [(f[b"message_id"].decode(), f[b"raw"]) for f in dead] == [
        (no_field, b'{"x":"1"}'), (garbage, b"not json")]
    assert b"no 'e' field" in dead[0][b"error"]
    assert b"malformed envelope" in dead[1][b"error"]
    assert (bus.malformed_total, await bus.pending("orders", "g")) == (3, 1)  # dead ones acked
    # Across streams, dead letters are ordered by the millisecond they died in.
    assert [(d.stream, d.raw) for d in letters if d.stream == "orders"] == [
        ("orders", b'{"x":"1"}'), ("orders", b"not json")]
    assert [(d.stream, d.raw) for d in letters if d.stream != "orders"] == [("fills", b"{}")]


async def test_readers_racing_on_a_malformed_entry_dead_letter_it_once(
        redis_url: str, redis_prefix: str) -> None:
    buses = [await RedisBus.connect(redis_url, prefix=redis_prefix) for _ in range(4)]
    try:
        for _ in range(5):
            await buses[0].append_raw("s", b"bad")

        # Each reads all five before any of them moves one: every move is contested.
        await asyncio.gather(*(bus.replay("s") for bus in buses))
        letters = await buses[0].read_dead_letters("s")
    finally:
        for bus in buses:
            await bus.close()

    assert len(letters) == 5
    assert sum(bus.malformed_total for bus in buses) == 5


async def test_claim_drops_pending_entries_whose_message_was_trimmed(
        client: Redis, redis_prefix: str) -> None:
    bus = RedisBus(client, prefix=redis_prefix, maxlen=1)
    await bus.ensure_group("quotes", "g")
    await bus.append("quotes", make_envelope())
    [lost] = await bus.consume("quotes", "g", "crashed")
    for _ in range(250):  # enough to fill and trim the first macro-node
        await bus.append("quotes", make_envelope())

    claimed = await bus.claim_stale("quotes", "g", "rescuer", min_idle_ms=0)

    assert lost.message_id not in [d.message_id for d in await bus.replay("quotes", count=500)]
    assert claimed == []
    assert await bus.pending("quotes", "g") == 0


async def test_hot_state_values_expire_by_themselves(client: Redis, redis_prefix: str) -> None:
    state = RedisHotState(client, prefix=redis_prefix)
    await state.put("hb", "runner", {"alive": True}, ttl_ms=150)
    await state.put("hb", "api", {"alive": True}, ttl_ms=150)
    await state.put("hb", "api", {"alive": True})  # a put without TTL keeps the value for good
    index = state.index_key("hb")

    ttl_runner = await client.pttl(state.value_key("hb", "runner"))
    ttl_api = await client.pttl(state.value_key("hb", "api"))
    await asyncio.sleep(0.25)
    gone = await client.exists(state.value_key("hb", "runner"))
    indexed_before = await client.zcard(index)
    live = await state.get_all("hb")

    assert 0 < ttl_runner <= 150
    assert ttl_api == -1
    assert gone == 0  # Redis itself expired the key, not our code
    assert indexed_before == 2
    assert live == {"api": {"alive": True}}
    assert await client.zrange(index, 0, -1) == [b"api"]  # get_all dropped the expired key


async def test_a_value_is_a_hash_of_json_fields_with_one_ttl(
    client: Redis, redis_prefix: str,
) -> None:
    state = RedisHotState(client, prefix=redis_prefix)
    await state.merge("market", "BINANCE:BTC/USDT", {"last_price": "65000.10", "count": 3},
                      ttl_ms=60_000)

    await state.merge("market", "BINANCE:BTC/USDT", {"bid": "65000.00"}, ttl_ms=30_000)

    key = state.value_key("market", "BINANCE:BTC/USDT")
    assert await client.type(key) == b"hash"
    assert await client.hgetall(key) == {
        b"last_price": b'"65000.10"', b"count": b"3", b"bid": b'"65000.00"'}
    assert 29_000 < await client.pttl(key) <= 30_000  # the last write's TTL


async def test_put_prunes_expired_keys_from_the_index(client: Redis, redis_prefix: str) -> None:
    state = RedisHotState(client, prefix=redis_prefix)
    for i in range(20):
        await state.put("quotes", f"sym{i}", {"bid": str(i)}, ttl_ms=50)
    await asyncio.sleep(0.1)

    await state.put("quotes", "BTCUSDT", {"bid": "1"}, ttl_ms=60_000)

    assert await client.zrange(state.index_key("quotes"), 0, -1) == [b"BTCUSDT"]


async def test_every_key_lives_under_the_prefix(client: Redis, redis_prefix: str) -> None:
    bus = RedisBus(client, prefix=redis_prefix)
    state = RedisHotState(client, prefix=redis_prefix)
    stranger = RedisBus(client, prefix=redis_prefix + "other:")
    await bus.ensure_group("a:b", "g")
    await bus.append("a:b", make_envelope())
    await bus.append_raw("a:b", b"bad")
    await bus.consume("a:b", "g", "c")
    await state.put("ns:1", "k:2", {"v": 1})

    keys = sorted(k.decode() for k in await command(
        client, "KEYS", glob_escape(redis_prefix) + "*"))

    assert keys == sorted(redis_prefix + k for k in [
        "bus:a:b", "bus:a:b:dead", "hot:4:ns:1:k:2", "hot-index:ns:1"])
    assert await stranger.replay("a:b") == []
    assert await stranger.read_dead_letters() == []


async def test_a_blocking_consume_outlasts_the_socket_timeout(
        redis_url: str, redis_prefix: str) -> None:
    # Without waiting in slices, a BLOCK longer than socket_timeout fails as a timeout.
    bus = await RedisBus.connect(redis_url, prefix=redis_prefix, socket_timeout=0.3)
    try:
        await bus.ensure_group("s", "g")
        sent = make_envelope()

        async def append_late() -> None:
            await asyncio.sleep(0.8)
            await bus.append("s", sent)

        started = time.monotonic()
        nothing = await bus.consume("s", "g", "c", block_ms=700)
        elapsed = time.monotonic() - started
        got, _ = await asyncio.gather(bus.consume("s", "g", "c", block_ms=5_000), append_late())
    finally:
        await bus.close()

    assert nothing == []
    assert 0.65 < elapsed < 1.5
    assert ids_of(got) == [sent.id]


async def test_closing_a_bus_leaves_a_shared_client_usable(
        redis_url: str, redis_prefix: str) -> None:
    # One connection only: a read cut short by close() must not leave its reply behind on it.
    shared = Redis.from_url(redis_url, max_connections=1)
    try:
        closing = RedisBus(shared, prefix=redis_prefix)
        await closing.ensure_group("s", "g")
        waiting = asyncio.create_task(closing.consume("s", "g", "c", block_ms=5_000))
        await asyncio.sleep(0.1)
        await closing.close()
        interrupted = await waiting
        bus = RedisBus(shared, prefix=redis_prefix)
        sent = make_envelope()

        await bus.append("s", sent)
        got = await bus.consume("s", "g", "c")
    finally:
        await shared.aclose()

    assert interrupted == []
    assert ids_of(got) == [sent.id]


async def test_a_resp3_client_works_the_same(redis_url: str, redis_prefix: str) -> None:
    bus = await RedisBus.connect(redis_url, prefix=redis_prefix, protocol=3)
    try:
        await bus.ensure_group("s", "g")
        sent = [make_envelope(seq=i) for i in range(3)]
        for envelope in sent:
            await bus.append("s", envelope)
        await bus.append_raw("s", b"bad")

        taken = await bus.consume("s", "g", "c", count=2)
        rest = await bus.consume("s", "g", "c", block_ms=100)
        claimed = await bus.claim_stale("s", "g", "other", min_idle_ms=0)
        replayed = await bus.replay("s", after=taken[0].message_id)
        pending = await bus.pending("s", "g")
    finally:
        await bus.close()

    assert ids_of(taken + rest) == [e.id for e in sent]
    assert ids_of(claimed) == [e.id for e in sent]
    assert [d.delivery_count for d in claimed] == [2, 2, 2]
    assert ids_of(replayed) == [e.id for e in sent[1:]]
    assert (pending, bus.malformed_total) == (3, 1)


async def test_message_ids_are_redis_ids(client: Redis, redis_prefix: str) -> None:
    bus = RedisBus(client, prefix=redis_prefix)

    first = await bus.append("s", make_envelope())
    second = await bus.append("s", make_envelope())

    assert position(first) < position(second)
    assert len(position(first)) == 2
    with pytest.raises(InvalidValue):
        await bus.ack("s", "g", ["1-x"])
    with pytest.raises(InvalidValue):
        await bus.replay("s", after="-1")
    assert await bus.replay("s", after=f"{2**64 - 1}-{2**64 - 1}") == []


async def test_names_and_clients_that_would_break_the_layout_are_refused(
        redis_url: str, redis_prefix: str) -> None:
    plain = Redis.from_url(redis_url)
    decoding = Redis.from_url(redis_url, decode_responses=True)
    try:
        bus = RedisBus(plain, prefix=redis_prefix)
        with pytest.raises(InvalidValue):
            await bus.append("orders:dead", make_envelope())
        with pytest.raises(InvalidValue):
            RedisBus(decoding)  # envelopes would come back as str, not bytes
        with pytest.raises(InvalidValue):
            RedisHotState(decoding)
        with pytest.raises(InvalidValue):
            RedisBus(plain, maxlen=0)
    finally:
        await plain.aclose()
        await decoding.aclose()


def test_hiredis_parses_replies() -> None:
    # The throughput figures in STACK.md (334k msgs/s read+ack) hold with hiredis only.
    assert redis.utils.HIREDIS_AVAILABLE


async def test_a_refused_bulk_append_leaves_the_bulk_connection_in_step(
    redis_url: str, redis_prefix: str, client: Redis,
) -> None:
    # Arrange: one stream's key holds a plain string, so each of its XADDs is refused
    bus = await RedisBus.connect(redis_url, prefix=redis_prefix, max_connections=1)
    await client.set(bus.stream_key("taken"), b"not a stream")
    batch = [make_envelope(seq=i) for i in range(50)]
    # Act
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        await bus.append_many("taken", batch)
    ids = await bus.append_many("ticks", batch)
    # Assert: the next batch on the same (only) connection reads its own replies
    stored = await client.xrange(bus.stream_key("ticks"))
    await bus.close()
    assert [entry[0].decode() for entry in stored] == ids
    assert len(ids) == 50
