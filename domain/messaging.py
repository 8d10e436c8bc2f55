"""The message envelope and the ``Bus`` and ``HotState`` ports (ARCHITECTURE.md, decision 4).

Every message between Lockgate processes travels in one ``Envelope``. Backends: Redis Streams
(production), PostgreSQL (embedded default: an events table plus LISTEN/NOTIFY) and in-memory
(unit tests); one contract test suite holds them all to the semantics written here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import msgspec

from domain.errors import InvalidValue


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One message: id, type, schema version, event time, trace context and payload.

    ``id`` is unique per message (a UUID or ULID chosen by the producer; consumers use it to
    deduplicate). ``ts_event`` is UTC nanoseconds. ``trace`` carries W3C trace context
    (``traceparent``/``tracestate``) across processes. ``payload`` is JSON-compatible.
    """

    id: str
    type: str
    schema_version: int
    ts_event: int
    payload: dict[str, Any]
    trace: dict[str, str] = {}

    def __post_init__(self) -> None:
        if not self.id or not self.type:
            raise InvalidValue("an envelope needs an id and a type")
        if self.schema_version < 1:
            raise InvalidValue(f"schema version starts at 1, got {self.schema_version}")
        if self.ts_event < 0:
            raise InvalidValue("ts_event is UTC nanoseconds since the epoch")


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Envelope)


def encode_envelope(envelope: Envelope) -> bytes:
    """Serialise an envelope as JSON bytes."""
    return _ENCODER.encode(envelope)


def decode_envelope(data: bytes | str) -> Envelope:
    """Parse and validate an envelope; raise ``InvalidValue`` on anything malformed."""
    try:
        return _DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidValue(f"malformed envelope: {exc}") from exc


class Delivery(msgspec.Struct, frozen=True):
    """A message handed to a consumer: the stream position and the envelope."""

    message_id: str
    envelope: Envelope
    delivery_count: int = 1


class Bus(Protocol):
    """Append-only streams with consumer groups, acknowledgement and replay.

    Semantics every backend honours (tests/adapters/bus/contract.py):
    - ``append`` returns a message id; ids increase within a stream (replay order).
    - Each consumer group sees every message of the stream once, shared among its consumers;
      a message stays pending for its consumer until ``ack``.
    - ``claim_stale`` hands pending messages idle for ``min_idle_ms`` to another consumer
      (a crashed consumer's work is not lost); their delivery count grows.
    - ``replay`` reads the stream from a position regardless of groups.
    """

    async def append(self, stream: str, envelope: Envelope) -> str:
        """Append a message; return its id."""
        ...

    async def append_many(self, stream: str, envelopes: Sequence[Envelope]) -> list[str]:
        """Append messages in order, in as few round trips as the backend allows; return ids."""
        ...

    async def ensure_group(self, stream: str, group: str, from_start: bool = True) -> None:
        """Create a consumer group (idempotent); new groups read from the start by default."""
        ...

    async def consume(
        self, stream: str, group: str, consumer: str, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        """Take up to ``count`` new messages for this consumer, waiting up to ``block_ms``."""
        ...

    async def ack(self, stream: str, group: str, message_ids: Sequence[str]) -> int:
        """Acknowledge messages; return how many were pending."""
        ...

    async def pending(self, stream: str, group: str) -> int:
        """Return how many delivered messages are not yet acknowledged."""
        ...

    async def length(self, stream: str) -> int:
        """Return how many messages the stream holds (0 for a stream never appended to).

        Raise ``BusUnavailable`` when the backend cannot be reached, like every write.
        """
        ...

    async def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        """Take over messages another consumer left pending for at least ``min_idle_ms``."""
        ...

    async def replay(
        self, stream: str, after: str | None = None, count: int = 1000
    ) -> list[Delivery]:
        """Read up to ``count`` messages after position ``after`` (from the start if None)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class BusUnavailable(Exception):
    """The bus or hot-state backend could not be reached; the write may be tried again.

    A retried append may repeat messages that reached the backend before it went away
    (at-least-once): consumers drop repeats by envelope id.
    """


class HotState(Protocol):
    """Latest values by key (quotes, position snapshots, heartbeats), optionally expiring."""

    async def put(
        self, namespace: str, key: str, value: Mapping[str, Any], ttl_ms: int | None = None
    ) -> None:
        """Store the latest value for a key, replacing the previous one."""
        ...

    async def merge(
        self, namespace: str, key: str, fields: Mapping[str, Any], ttl_ms: int | None = None
    ) -> None:
        """Set some fields of a key's value, keeping its others, and restart its TTL.

        A key that is absent or expired starts empty. Several writers can keep parts of one
        record (a trade, a quote, statistics) without reading it first.
        """
        ...

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Return the value, or None if absent or expired."""
        ...

    async def get_all(self, namespace: str) -> dict[str, dict[str, Any]]:
        """Return every live value of a namespace by key."""
        ...

    async def delete(self, namespace: str, key: str) -> None:
        """Remove a key."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
