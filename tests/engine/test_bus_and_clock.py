"""The kernel's message bus (ordered, synchronous) and the simulated clock (never backwards)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.bus import MessageBus
from engine.clock import SimulatedClock


def recorder(log: list[tuple[str, object]], name: str) -> Callable[[object], None]:
    def handler(message: object) -> None:
        log.append((name, message))
    return handler


def test_handlers_run_in_subscription_order_for_every_message_in_publish_order() -> None:
    bus = MessageBus()
    log: list[tuple[str, object]] = []
    for name in ("first", "second", "third"):
        bus.subscribe("t", recorder(log, name))

    bus.publish("t", 1)
    bus.publish("t", 2)

    assert log == [("first", 1), ("second", 1), ("third", 1),
                   ("first", 2), ("second", 2), ("third", 2)]


def test_delivery_happens_in_the_publishers_turn() -> None:
    bus = MessageBus()
    seen: list[object] = []
    bus.subscribe("t", seen.append)

    bus.publish("t", "now")

    assert seen == ["now"]  # no queue, no loop to run


def test_topics_are_independent_and_a_topic_nobody_hears_is_fine() -> None:
    bus = MessageBus()
    a: list[object] = []
    b: list[object] = []
    bus.subscribe("a", a.append)
    bus.subscribe("b", b.append)

    bus.publish("a", 1)
    bus.publish("nobody", 2)

    assert (a, b) == ([1], [])


def test_unsubscribe_stops_only_that_handler() -> None:
    bus = MessageBus()
    log: list[tuple[str, object]] = []
    first, second = recorder(log, "first"), recorder(log, "second")
    bus.subscribe("t", first)
    bus.subscribe("t", second)

    bus.publish("t", 1)
    bus.unsubscribe("t", first)
    bus.publish("t", 2)
    bus.unsubscribe("t", first)  # again: a no-op
    bus.unsubscribe("other", second)  # unknown topic: a no-op
    bus.publish("t", 3)

    assert log == [("first", 1), ("second", 1), ("second", 2), ("second", 3)]


def test_listeners_is_the_live_list_of_handlers() -> None:
    bus = MessageBus()
    handlers = bus.listeners("t")
    assert handlers == []

    bus.subscribe("t", print)
    assert handlers == [print]
    bus.unsubscribe("t", print)
    assert handlers == []


def test_simulated_clock_starts_where_told_and_moves_only_when_set() -> None:
    clock = SimulatedClock(1_000)
    assert clock.timestamp_ns() == 1_000
    assert SimulatedClock().timestamp_ns() == 0

    clock.set_time(5_000)
    assert clock.timestamp_ns() == 5_000
    clock.set_time(5_000)  # standing still is allowed
    assert clock.timestamp_ns() == 5_000


def test_simulated_clock_refuses_to_go_backwards() -> None:
    clock = SimulatedClock(5_000)

    with pytest.raises(ValueError, match="cannot go back"):
        clock.set_time(4_999)

    assert clock.timestamp_ns() == 5_000
