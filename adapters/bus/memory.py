"""In-process ``Bus`` and ``HotState``: for unit tests and single-process runs.

Messages are kept as the encoded bytes a real backend would store, so a payload that does not
survive JSON fails here too, and every reader gets its own decoded copy. The clock is injected
(monotonic milliseconds) so tests can move time for TTLs and idle pending entries.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.bus.common import (
    DeadLetter,
    UnknownGroup,
    check_name,
    check_take,
    check_ttl,
    decode_value,
    encode_value,
    monotonic_ms,
    parse_position,
    parse_positions,
)
from domain.errors import InvalidValue
from domain.messaging import Delivery, Envelope, decode_envelope, encode_envelope

Clock = Callable[[], float]


@dataclass(slots=True)
class _Pending:
    consumer: str
    delivered_at_ms: float
    delivery_count: int


@dataclass(slots=True)
class _Group:
    last_delivered: int
    pending: dict[int, _Pending] = field(default_factory=dict)


@dataclass(slots=True)
class _Stream:
    # ids stays sorted (positions only grow); a dead-lettered message leaves a hole in messages.
    ids: list[int] = field(default_factory=list)
    messages: dict[int, bytes] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)
    # Replaced on every append: a waiter that took the current event before looking at the
    # stream cannot miss an append that happens after it looked.
    appended: asyncio.Event = field(default_factory=asyncio.Event)


class InMemoryBus:
    """A ``Bus`` held in this process's memory, with the semantics of the persistent backends.

    Message ids are decimal positions, increasing across all streams of the bus.
    """

    def __init__(self, clock: Clock = monotonic_ms) -> None:
        """Create an empty bus; ``clock`` returns monotonic milliseconds (idle time of pending)."""
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._last_position = 0
        self.dead_letters: list[DeadLetter] = []
        self.malformed_total = 0
        self._closed = False

    async def append(self, stream: str, envelope: Envelope) -> str:
        """Append a message; return its id."""
        return self._append(stream, encode_envelope(envelope))

    async def append_many(self, stream: str, envelopes: Sequence[Envelope]) -> list[str]:
        """Append messages in order; return their ids."""
        return [await self.append(stream, envelope) for envelope in envelopes]

    async def append_raw(self, stream: str, data: bytes) -> str:
        """Append bytes unvalidated, as a bridge from another transport would; return the id.

        Readers validate at the boundary: bytes that do not decode are dead-lettered, never
        delivered. Tests use this to put a corrupt message on a stream.
        """
        return self._append(stream, bytes(data))

    async def ensure_group(self, stream: str, group: str, from_start: bool = True) -> None:
        """Create a consumer group (idempotent); new groups read from the start by default."""
        state = self._stream(stream)
        check_name("group", group)
        if group not in state.groups:
            start = 0 if from_start or not state.ids else state.ids[-1]
            state.groups[group] = _Group(last_delivered=start)

    async def consume(
        self, stream: str, group: str, consumer: str, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        """Take up to ``count`` new messages for this consumer, waiting up to ``block_ms``."""
        check_name("consumer", consumer)
        check_take(count, block_ms)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_ms / 1000.0
        while not self._closed:
            state = self._stream(stream)
            appended = state.appended
            taken = self._take(stream, state, group, consumer, count)
            remaining = deadline - loop.time()
            if taken or remaining <= 0:
                return taken
            try:
                await asyncio.wait_for(appended.wait(), remaining)
            except TimeoutError:
                return []
        return []

    async def ack(self, stream: str, group: str, message_ids: Sequence[str]) -> int:
        """Acknowledge messages; return how many were pending."""
        positions = parse_positions(message_ids)
        found = self._streams.get(stream)
        state = found.groups.get(group) if found else None
        if state is None:
            return 0
        return sum(state.pending.pop(p, None) is not None for p in positions)

    async def pending(self, stream: str, group: str) -> int:
        """Return how many delivered messages are not yet acknowledged."""
        found = self._streams.get(stream)
        state = found.groups.get(group) if found else None
        return 0 if state is None else len(state.pending)

    async def length(self, stream: str) -> int:
        """Return how many messages the stream holds (0 for a stream never appended to)."""
        check_name("stream", stream)
        found = self._streams.get(stream)
        return 0 if found is None else len(found.messages)

    async def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        """Take over messages another consumer left pending for at least ``min_idle_ms``."""
        check_name("consumer", consumer)
        check_take(count, min_idle_ms, "min_idle_ms")
        state = self._stream(stream)
        entries = self._group(stream, state, group).pending
        now = self._clock()
        claimed: list[Delivery] = []
        for position in sorted(entries):
            if len(claimed) >= count:
                break
            entry = entries[position]
            if now - entry.delivered_at_ms < min_idle_ms:
                continue
            envelope = self._read(stream, state, position)
            if envelope is None:
                # Gone from the stream (dead-lettered): nothing left to hand over.
                del entries[position]
                continue
            entry.consumer = consumer
            entry.delivered_at_ms = now
            entry.delivery_count += 1
            claimed.append(Delivery(str(position), envelope, entry.delivery_count))
        return claimed

    async def replay(
        self, stream: str, after: str | None = None, count: int = 1000
    ) -> list[Delivery]:
        """Read up to ``count`` messages after position ``after`` (from the start if None)."""
        check_take(count, 0)
        start = 0 if after is None else parse_position(after)
        state = self._streams.get(stream)
        if state is None:
            return []
        out: list[Delivery] = []
        for index in range(bisect_right(state.ids, start), len(state.ids)):
            if len(out) >= count:
                break
            position = state.ids[index]
            envelope = self._read(stream, state, position)
            if envelope is not None:
                out.append(Delivery(str(position), envelope))
        return out

    async def read_dead_letters(
        self, stream: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """Return up to ``limit`` dead letters, oldest first, of one stream or of all."""
        return [d for d in self.dead_letters if stream is None or d.stream == stream][:limit]

    async def close(self) -> None:
        """Wake blocked consumers, which return empty-handed, as on every backend."""
        self._closed = True
        for state in self._streams.values():
            state.appended.set()

    # -- internals ---------------------------------------------------------------------------

    def _append(self, stream: str, data: bytes) -> str:
        state = self._stream(stream)
        self._last_position += 1
        state.ids.append(self._last_position)
        state.messages[self._last_position] = data
        state.appended.set()
        state.appended = asyncio.Event()
        return str(self._last_position)

    def _stream(self, stream: str) -> _Stream:
        state = self._streams.get(stream)
        if state is None:
            state = self._streams[check_name("stream", stream)] = _Stream()
        return state

    @staticmethod
    def _group(stream: str, state: _Stream, group: str) -> _Group:
        found = state.groups.get(group)
        if found is None:
            raise UnknownGroup(stream, group)
        return found

    def _take(
        self, stream: str, state: _Stream, group: str, consumer: str, count: int
    ) -> list[Delivery]:
        cursor = self._group(stream, state, group)
        now = self._clock()
        taken: list[Delivery] = []
        for index in range(bisect_right(state.ids, cursor.last_delivered), len(state.ids)):
            if len(taken) >= count:
                break
            position = state.ids[index]
            cursor.last_delivered = position
            envelope = self._read(stream, state, position)
            if envelope is not None:
                cursor.pending[position] = _Pending(consumer, now, 1)
                taken.append(Delivery(str(position), envelope))
        return taken

    def _read(self, stream: str, state: _Stream, position: int) -> Envelope | None:
        """Decode one stored message; dead-letter it (and return None) if it does not decode."""
        data = state.messages.get(position)
        if data is None:
            return None
        try:
            return decode_envelope(data)
        except InvalidValue as exc:
            del state.messages[position]
            self.dead_letters.append(DeadLetter(stream, str(position), data, str(exc)))
            self.malformed_total += 1
            return None


class InMemoryHotState:
    """A ``HotState`` held in this process's memory; values are stored as JSON like elsewhere."""

    def __init__(self, clock: Clock = monotonic_ms) -> None:
        """Create an empty store; ``clock`` returns monotonic milliseconds (TTL expiry)."""
        self._clock = clock
        self._values: dict[str, dict[str, tuple[bytes, float | None]]] = {}

    async def put(
        self, namespace: str, key: str, value: Mapping[str, Any], ttl_ms: int | None = None
    ) -> None:
        """Store the latest value for a key, replacing the previous one."""
        check_name("namespace", namespace)
        check_name("key", key)
        check_ttl(ttl_ms)
        expires_at = None if ttl_ms is None else self._clock() + ttl_ms
        self._values.setdefault(namespace, {})[key] = (encode_value(value), expires_at)

    async def merge(
        self, namespace: str, key: str, fields: Mapping[str, Any], ttl_ms: int | None = None
    ) -> None:
        """Set some fields of a key's value, keeping its others, and restart its TTL."""
        encode_value(fields)  # refuse a bad field before changing anything
        current = await self.get(namespace, key) or {}
        await self.put(namespace, key, {**current, **fields}, ttl_ms)

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Return the value, or None if absent or expired."""
        entries = self._values.get(namespace, {})
        entry = entries.get(key)
        if entry is None:
            return None
        if self._expired(entry[1]):
            del entries[key]
            return None
        return decode_value(entry[0])

    async def get_all(self, namespace: str) -> dict[str, dict[str, Any]]:
        """Return every live value of a namespace by key."""
        entries = self._values.get(namespace, {})
        for key in [k for k, (_, expires_at) in entries.items() if self._expired(expires_at)]:
            del entries[key]
        return {key: decode_value(data) for key, (data, _) in entries.items()}

    async def delete(self, namespace: str, key: str) -> None:
        """Remove a key."""
        self._values.get(namespace, {}).pop(key, None)

    async def close(self) -> None:
        """Release nothing: the store lives as long as the object."""

    def _expired(self, expires_at: float | None) -> bool:
        return expires_at is not None and self._clock() >= expires_at

