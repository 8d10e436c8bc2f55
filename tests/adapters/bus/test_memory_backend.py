"""The bus contract on the in-memory backend, plus what only a movable clock can show."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.bus.memory import InMemoryBus, InMemoryHotState
from domain.messaging import Bus
from tests.adapters.bus.contract import Backend, BusContract, make_envelope


class FakeClock:
    """Monotonic milliseconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class TestMemoryBackend(BusContract):
    @pytest.fixture
    async def backend(self) -> AsyncIterator[Backend]:
        bus = InMemoryBus()
        state = InMemoryHotState()

        async def peer() -> Bus:
            return bus  # one process, one bus: a second consumer shares the object

        yield Backend(bus=bus, state=state, connect_peer=peer, inject_raw=bus.append_raw)
        await bus.close()
        await state.close()


async def test_ttl_follows_the_injected_clock() -> None:
    clock = FakeClock()
    state = InMemoryHotState(clock=clock)
    await state.put("quotes", "BTCUSDT", {"bid": "1"}, ttl_ms=500)

    clock.now += 499
    alive = await state.get("quotes", "BTCUSDT")
    clock.now += 1
    expired = await state.get("quotes", "BTCUSDT")

    assert alive == {"bid": "1"}
    assert expired is None
    assert await state.get_all("quotes") == {}


async def test_claim_stale_measures_idle_time_on_the_injected_clock() -> None:
    clock = FakeClock()
    bus = InMemoryBus(clock=clock)
    await bus.ensure_group("s", "g")
    await bus.append("s", make_envelope())
    [taken] = await bus.consume("s", "g", "crashed")

    clock.now += 29_999
    early = await bus.claim_stale("s", "g", "rescuer", min_idle_ms=30_000)
    clock.now += 1
    [claimed] = await bus.claim_stale("s", "g", "rescuer", min_idle_ms=30_000)
    clock.now += 30_000
    [again] = await bus.claim_stale("s", "g", "third", min_idle_ms=30_000)

    assert early == []
    assert claimed.message_id == taken.message_id
    assert (claimed.delivery_count, again.delivery_count) == (2, 3)


async def test_dead_letters_are_kept_in_a_list() -> None:
    bus = InMemoryBus()
    await bus.ensure_group("s", "g")
    bad_id = await bus.append_raw("s", b"garbage")

    assert await bus.consume("s", "g", "c") == []
    assert [(d.stream, d.message_id, d.raw) for d in bus.dead_letters] == [
        ("s", bad_id, b"garbage")]
    assert bus.malformed_total == 1
