"""The kernel's in-process message bus: synchronous, ordered, deterministic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


class MessageBus:
    """Topic-based publish/subscribe; handlers run in subscription order, in the caller's turn."""

    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Handler]] = {}

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler`` with every message later published on ``topic``."""
        self._subscribers.setdefault(topic, []).append(handler)

    def unsubscribe(self, topic: str, handler: Handler) -> None:
        """Stop calling ``handler`` for ``topic``."""
        handlers = self._subscribers.get(topic, [])
        if handler in handlers:
            handlers.remove(handler)

    def listeners(self, topic: str) -> list[Handler]:
        """Return the live list of ``topic``'s handlers (the hot path checks it is non-empty)."""
        return self._subscribers.setdefault(topic, [])

    def publish(self, topic: str, message: object) -> None:
        """Deliver ``message`` to every subscriber of ``topic`` now."""
        for handler in self._subscribers.get(topic, ()):
            handler(message)
