"""The contract every ``Bus`` and ``HotState`` backend honours (domain/messaging.py).

A backend joins by subclassing ``BusContract`` in a ``test_<backend>_backend.py`` and providing
one async fixture, ``backend``, that yields a ``Backend``. Names of streams, groups and
namespaces are unique per test, so backends on a shared server (Redis) need no clean-up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import pytest

from adapters.bus import DeadLettering, UnknownGroup
from domain.errors import InvalidValue
from domain.messaging import Bus, Delivery, Envelope, HotState


class InspectableBus(Bus, DeadLettering, Protocol):
    """A bus that also exposes its dead letters and malformed counter."""


@dataclass
class Backend:
    """One backend under test.

    ``connect_peer`` returns another client of the same backend, as a second process would hold
    (the same object where the backend lives in one process). ``inject_raw`` writes bytes onto
    a stream past every check, as a buggy producer or a damaged row would.
    """

    bus: InspectableBus
    state: HotState
    connect_peer: Callable[[], Awaitable[Bus]]
    inject_raw: Callable[[str, bytes], Awaitable[object]]


def make_envelope(type_: str = "test.Pinged", **payload: Any) -> Envelope:
    """Return an envelope with a fresh id and ``payload``."""
    return Envelope(id=uuid.uuid4().hex, type=type_, schema_version=1,
                    ts_event=time.time_ns(), payload=payload)


def position(message_id: str) -> tuple[int, ...]:
    """Order message ids of any backend: "17" (PostgreSQL, memory) or "1700000000000-3" (Redis)."""
    return tuple(int(part) for part in message_id.split("-"))


def ids_of(deliveries: list[Delivery]) -> list[str]:
    """Return the envelope ids of ``deliveries`` in order."""
    return [d.envelope.id for d in deliveries]


def unique(prefix: str) -> str:
    """Return a name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex}"


class BusContract:
    """Tests run against every backend; subclasses provide the ``backend`` fixture."""

    @pytest.fixture
    def stream(self) -> str:
        """Return a stream name of this test's own."""
        return unique("test.stream")

    async def _append_many(self, bus: Bus, stream: str, n: int) -> list[Envelope]:
        envelopes = [make_envelope(seq=i) for i in range(n)]
        for envelope in envelopes:
            await bus.append(stream, envelope)
        return envelopes

    # -- append and replay -------------------------------------------------------------------

    async def test_ids_increase_and_replay_keeps_append_order(
            self, backend: Backend, stream: str) -> None:
        envelopes = [make_envelope(seq=i) for i in range(5)]

        message_ids = [await backend.bus.append(stream, e) for e in envelopes]
        replayed = await backend.bus.replay(stream)

        assert [position(m) for m in message_ids] == sorted({position(m) for m in message_ids})
        assert [d.message_id for d in replayed] == message_ids
        assert [d.envelope for d in replayed] == envelopes

    async def test_append_many_keeps_order_and_ids_follow_single_appends(
            self, backend: Backend, stream: str) -> None:
        single = await backend.bus.append(stream, make_envelope(seq=-1))
        batch = [make_envelope(seq=i) for i in range(50)]

        message_ids = await backend.bus.append_many(stream, batch)
        replayed = await backend.bus.replay(stream, after=single)

        assert len(message_ids) == 50
        assert [position(m) for m in message_ids] == sorted(position(m) for m in message_ids)
        assert position(message_ids[0]) > position(single)
        assert [d.message_id for d in replayed] == message_ids
        assert [d.envelope for d in replayed] == batch
        assert await backend.bus.append_many(stream, []) == []

    async def test_replay_reads_after_a_position_up_to_a_count(
            self, backend: Backend, stream: str) -> None:
        envelopes = await self._append_many(backend.bus, stream, 6)
        first_two = await backend.bus.replay(stream, count=2)

        rest = await backend.bus.replay(stream, after=first_two[-1].message_id, count=100)

        assert ids_of(first_two + rest) == [e.id for e in envelopes]
        assert await backend.bus.replay(stream, after=rest[-1].message_id) == []
        assert await backend.bus.replay(unique("test.empty")) == []

    async def test_envelope_round_trip_preserves_every_field(
            self, backend: Backend, stream: str) -> None:
        sent = Envelope(
            id=uuid.uuid4().hex, type="order.Filled", schema_version=3,
            ts_event=1_717_171_717_123_456_789,
            trace={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                   "tracestate": "lockgate=runner"},
            payload={"order": {"price": "65000.10", "quantity": "0.00100000",
                               "fills": [{"price": "64999.99", "fee": "0.0000001"}]},
                     "venue": "binance", "reduce_only": False, "note": None, "legs": 2,
                     "text": "grüße \u2603 \u0000 end"})
        await backend.bus.ensure_group(stream, "g")

        await backend.bus.append(stream, sent)
        [consumed] = await backend.bus.consume(stream, "g", "c1")
        [replayed] = await backend.bus.replay(stream)

        assert consumed.envelope == sent
        assert replayed.envelope == sent
        assert consumed.delivery_count == 1

    async def test_streams_are_independent(self, backend: Backend, stream: str) -> None:
        other = unique("test.other")
        await backend.bus.ensure_group(stream, "g")
        await backend.bus.ensure_group(other, "g")

        mine = await backend.bus.append(stream, make_envelope())
        theirs = await backend.bus.append(other, make_envelope())

        assert [d.message_id for d in await backend.bus.consume(stream, "g", "c")] == [mine]
        assert [d.message_id for d in await backend.bus.replay(other)] == [theirs]

    # -- groups ------------------------------------------------------------------------------

    async def test_each_group_sees_every_message(self, backend: Backend, stream: str) -> None:
        await backend.bus.ensure_group(stream, "risk")
        await backend.bus.ensure_group(stream, "audit")
        envelopes = await self._append_many(backend.bus, stream, 4)

        risk = await backend.bus.consume(stream, "risk", "r1")
        audit = await backend.bus.consume(stream, "audit", "a1")

        assert ids_of(risk) == ids_of(audit) == [e.id for e in envelopes]
        assert await backend.bus.consume(stream, "risk", "r1") == []

    async def test_ensure_group_is_idempotent_and_can_start_at_the_end(
            self, backend: Backend, stream: str) -> None:
        await self._append_many(backend.bus, stream, 3)
        await backend.bus.ensure_group(stream, "late", from_start=False)
        await backend.bus.ensure_group(stream, "early")
        [first] = await backend.bus.consume(stream, "early", "c", count=1)

        await backend.bus.ensure_group(stream, "early")  # again: keeps its position
        later = await backend.bus.append(stream, make_envelope())

        assert [d.message_id for d in await backend.bus.consume(stream, "late", "c")] == [later]
        rest = await backend.bus.consume(stream, "early", "c")
        assert len(rest) == 3
        assert first.message_id not in [d.message_id for d in rest]

    async def test_an_unknown_group_is_refused(self, backend: Backend, stream: str) -> None:
        await backend.bus.append(stream, make_envelope())

        with pytest.raises(UnknownGroup):
            await backend.bus.consume(stream, "nobody", "c")
        with pytest.raises(UnknownGroup):
            await backend.bus.claim_stale(stream, "nobody", "c", min_idle_ms=0)
        assert await backend.bus.pending(stream, "nobody") == 0
        assert await backend.bus.ack(stream, "nobody", ["1"]) == 0

    async def test_bad_arguments_are_refused(self, backend: Backend, stream: str) -> None:
        await backend.bus.ensure_group(stream, "g")

        with pytest.raises(InvalidValue):
            await backend.bus.consume(stream, "g", "c", count=0)
        with pytest.raises(InvalidValue):
            await backend.bus.consume(stream, "g", "c", block_ms=-1)
        with pytest.raises(InvalidValue):
            await backend.bus.consume(stream, "g", "")

    async def test_consumers_of_one_group_split_the_messages(
            self, backend: Backend, stream: str) -> None:
        peer = await backend.connect_peer()
        await backend.bus.ensure_group(stream, "g")
        envelopes = await self._append_many(backend.bus, stream, 6)

        first = await backend.bus.consume(stream, "g", "c1", count=4)
        second = await peer.consume(stream, "g", "c2", count=4)

        assert ids_of(first) + ids_of(second) == [e.id for e in envelopes]
        assert (len(first), len(second)) == (4, 2)

    async def test_racing_consumers_never_get_the_same_message(
            self, backend: Backend, stream: str) -> None:
        peer = await backend.connect_peer()
        await backend.bus.ensure_group(stream, "g")
        envelopes = await self._append_many(backend.bus, stream, 40)

        async def drain(bus: Bus, consumer: str) -> list[str]:
            got: list[str] = []
            while batch := await bus.consume(stream, "g", consumer, count=3):
                got += ids_of(batch)
                await asyncio.sleep(0)
            return got

        one, two = await asyncio.gather(drain(backend.bus, "c1"), drain(peer, "c2"))

        assert not set(one) & set(two)
        assert sorted(one + two) == sorted(e.id for e in envelopes)
        assert await backend.bus.pending(stream, "g") == 40

    # -- pending, ack, claim -----------------------------------------------------------------

    async def test_ack_is_idempotent_and_counts(self, backend: Backend, stream: str) -> None:
        await backend.bus.ensure_group(stream, "g")
        await self._append_many(backend.bus, stream, 3)
        taken = [d.message_id for d in await backend.bus.consume(stream, "g", "c")]

        assert await backend.bus.ack(stream, "g", taken[:2]) == 2
        assert await backend.bus.ack(stream, "g", taken[:2]) == 0
        assert await backend.bus.ack(stream, "g", [taken[2], taken[2]]) == 1
        assert await backend.bus.ack(stream, "g", []) == 0
        assert await backend.bus.pending(stream, "g") == 0

    async def test_unacked_messages_stay_pending_until_claimed(
            self, backend: Backend, stream: str) -> None:
        peer = await backend.connect_peer()
        await backend.bus.ensure_group(stream, "g")
        envelopes = await self._append_many(backend.bus, stream, 3)
        taken = await backend.bus.consume(stream, "g", "crashed")
        await backend.bus.ack(stream, "g", [taken[0].message_id])

        too_fresh = await peer.claim_stale(stream, "g", "rescuer", min_idle_ms=60_000)
        await asyncio.sleep(0.08)
        claimed = await peer.claim_stale(stream, "g", "rescuer", min_idle_ms=50)

        assert too_fresh == []
        assert await backend.bus.pending(stream, "g") == 2
        assert ids_of(claimed) == [e.id for e in envelopes[1:]]
        assert [d.delivery_count for d in claimed] == [2, 2]
        assert [d.message_id for d in claimed] == [d.message_id for d in taken[1:]]
        # Claimed work is the rescuer's now; consume hands out only new messages.
        assert await backend.bus.consume(stream, "g", "crashed") == []
        assert await peer.claim_stale(stream, "g", "other", min_idle_ms=60_000) == []
        assert await peer.ack(stream, "g", [d.message_id for d in claimed]) == 2
        assert await backend.bus.pending(stream, "g") == 0

    # -- blocking ----------------------------------------------------------------------------

    async def test_blocking_consume_wakes_when_another_task_appends(
            self, backend: Backend, stream: str) -> None:
        peer = await backend.connect_peer()
        await backend.bus.ensure_group(stream, "g")
        sent = make_envelope()

        async def append_soon() -> None:
            await asyncio.sleep(0.2)
            await peer.append(stream, sent)

        started = time.monotonic()
        got, _ = await asyncio.gather(
            backend.bus.consume(stream, "g", "c", block_ms=10_000), append_soon())
        elapsed = time.monotonic() - started

        assert ids_of(got) == [sent.id]
        assert 0.15 < elapsed < 1.5

    async def test_blocking_consume_gives_up_after_block_ms(
            self, backend: Backend, stream: str) -> None:
        await backend.bus.ensure_group(stream, "g")

        started = time.monotonic()
        got = await backend.bus.consume(stream, "g", "c", block_ms=250)
        elapsed = time.monotonic() - started

        assert got == []
        assert 0.2 < elapsed < 1.5

    async def test_close_wakes_a_blocked_consumer_empty_handed(
            self, backend: Backend, stream: str) -> None:
        peer = await backend.connect_peer()
        await peer.ensure_group(stream, "g")
        waiting = asyncio.create_task(peer.consume(stream, "g", "c", block_ms=10_000))
        await asyncio.sleep(0.1)

        started = time.monotonic()
        await peer.close()
        got = await asyncio.wait_for(waiting, 2)

        assert got == []
        assert time.monotonic() - started < 1.0
        await peer.close()  # closing again is harmless

    # -- boundary validation -----------------------------------------------------------------

    async def test_malformed_messages_are_dead_lettered_counted_and_skipped(
            self, backend: Backend, stream: str) -> None:
        await backend.bus.ensure_group(stream, "g")
        await backend.bus.ensure_group(stream, "h")
        before = make_envelope()
        after = make_envelope()
        await backend.bus.append(stream, before)
        await backend.inject_raw(stream, b"\x00not json at all")
        await backend.inject_raw(stream, b'{"id": "x", "type": "t", "schema_version": 0,'
                                          b' "ts_event": 1, "payload": {}}')
        await backend.bus.append(stream, after)

        got = await backend.bus.consume(stream, "g", "c", count=3)
        also = await backend.bus.consume(stream, "h", "c")
        letters = await backend.bus.read_dead_letters(stream)

        assert ids_of(got) == ids_of(also) == [before.id, after.id]
        assert ids_of(await backend.bus.replay(stream)) == [before.id, after.id]
        assert backend.bus.malformed_total == 2
        assert len(letters) == 2
        assert letters[0].raw == b"\x00not json at all"
        assert all("malformed envelope" in letter.error for letter in letters)
        assert "schema version" in letters[1].error
        assert await backend.bus.pending(stream, "g") == 2

    async def test_a_batch_of_only_malformed_messages_does_not_stall_the_consumer(
            self, backend: Backend, stream: str) -> None:
        await backend.bus.ensure_group(stream, "g")
        for _ in range(3):
            await backend.inject_raw(stream, b"{}")
        good = make_envelope()
        await backend.bus.append(stream, good)

        got = await backend.bus.consume(stream, "g", "c", count=2)

        assert ids_of(got) == [good.id]
        assert backend.bus.malformed_total == 3

    async def test_length_counts_the_messages_a_stream_holds(self, backend: Backend) -> None:
        stream = unique("lengths")
        assert await backend.bus.length(stream) == 0

        await backend.bus.append_many(stream, [make_envelope(seq=i) for i in range(7)])
        await backend.bus.append(stream, make_envelope(seq=7))

        assert await backend.bus.length(stream) == 8
        assert await backend.bus.length(unique("other")) == 0

    # -- hot state ---------------------------------------------------------------------------

    async def test_put_replaces_and_get_returns_the_latest(self, backend: Backend) -> None:
        ns = unique("quotes")
        await backend.state.put(ns, "BTCUSDT", {"bid": "65000.10", "ask": "65000.20"})

        await backend.state.put(ns, "BTCUSDT", {"bid": "65001.00", "ask": "65001.50",
                                                "depth": [{"px": "1", "qty": "2"}]})

        assert await backend.state.get(ns, "BTCUSDT") == {
            "bid": "65001.00", "ask": "65001.50", "depth": [{"px": "1", "qty": "2"}]}
        assert await backend.state.get(ns, "ETHUSDT") is None
        assert await backend.state.get(unique("other"), "BTCUSDT") is None

    async def test_get_all_and_delete(self, backend: Backend) -> None:
        ns = unique("positions")
        await backend.state.put(ns, "a", {"qty": "1"})
        await backend.state.put(ns, "b", {"qty": "2"})
        await backend.state.put(unique("elsewhere"), "c", {"qty": "3"})

        await backend.state.delete(ns, "a")
        await backend.state.delete(ns, "never-there")

        assert await backend.state.get_all(ns) == {"b": {"qty": "2"}}
        assert await backend.state.get(ns, "a") is None
        assert await backend.state.get_all(unique("empty")) == {}

    async def test_values_travel_as_json(self, backend: Backend) -> None:
        ns = unique("snapshots")

        await backend.state.put(ns, "k", {"price": Decimal("65000.10"), "n": 3, "ok": True})

        assert await backend.state.get(ns, "k") == {"price": "65000.10", "n": 3, "ok": True}
        with pytest.raises(InvalidValue):
            await backend.state.put(ns, "k", {"bad": object()})

    async def test_merge_sets_some_fields_and_keeps_the_others(self, backend: Backend) -> None:
        ns = unique("market")
        await backend.state.merge(ns, "BTCUSDT", {"last_price": "65000.10", "last_qty": "0.5"})

        await backend.state.merge(ns, "BTCUSDT", {"bid": "65000.00", "last_price": "65000.20"})

        assert await backend.state.get(ns, "BTCUSDT") == {
            "last_price": "65000.20", "last_qty": "0.5", "bid": "65000.00"}
        await backend.state.put(ns, "BTCUSDT", {"bid": "1"})
        assert await backend.state.get(ns, "BTCUSDT") == {"bid": "1"}

    async def test_an_empty_value_exists_and_field_names_are_checked(
        self, backend: Backend,
    ) -> None:
        ns = unique("records")

        await backend.state.put(ns, "empty", {})
        await backend.state.merge(ns, "merged-empty", {})

        assert await backend.state.get(ns, "empty") == {}
        assert await backend.state.get_all(ns) == {"empty": {}, "merged-empty": {}}
        for bad in ({"": 1}, {3: 1}):
            with pytest.raises(InvalidValue):
                await backend.state.merge(ns, "empty", bad)
        assert await backend.state.get(ns, "empty") == {}

    async def test_merge_restarts_the_ttl_and_an_expired_value_starts_empty(
        self, backend: Backend,
    ) -> None:
        ns = unique("tickers")
        await backend.state.merge(ns, "kept", {"a": 1}, ttl_ms=150)
        await backend.state.merge(ns, "lapsed", {"a": 1}, ttl_ms=150)
        await asyncio.sleep(0.1)

        await backend.state.merge(ns, "kept", {"b": 2}, ttl_ms=60_000)
        await asyncio.sleep(0.2)
        await backend.state.merge(ns, "lapsed", {"b": 2}, ttl_ms=60_000)

        assert await backend.state.get(ns, "kept") == {"a": 1, "b": 2}
        assert await backend.state.get(ns, "lapsed") == {"b": 2}
        await backend.state.merge(ns, "kept", {"c": 3})  # no TTL: kept until replaced
        await asyncio.sleep(0.05)
        assert await backend.state.get_all(ns) == {"kept": {"a": 1, "b": 2, "c": 3},
                                                   "lapsed": {"b": 2}}

    async def test_expired_values_are_invisible(self, backend: Backend) -> None:
        ns = unique("heartbeats")
        await backend.state.put(ns, "runner", {"alive": True}, ttl_ms=100)
        await backend.state.put(ns, "api", {"alive": True}, ttl_ms=60_000)
        await backend.state.put(ns, "forever", {"alive": True})
        assert await backend.state.get(ns, "runner") == {"alive": True}

        await asyncio.sleep(0.2)

        assert await backend.state.get(ns, "runner") is None
        assert await backend.state.get_all(ns) == {"api": {"alive": True},
                                                   "forever": {"alive": True}}
        await backend.state.put(ns, "runner", {"alive": True, "again": 1})
        assert await backend.state.get(ns, "runner") == {"alive": True, "again": 1}
        with pytest.raises(InvalidValue):
            await backend.state.put(ns, "k", {}, ttl_ms=0)
