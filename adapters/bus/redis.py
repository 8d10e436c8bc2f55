"""Redis ``Bus`` (and the helpers ``redis_state.RedisHotState`` shares): the production backend.

Streams with consumer groups carry the messages; hashes with a TTL hold hot state.
Every key starts with a configurable ``prefix`` (default ``lockgate:``), so several deployments
or test runs share one server without seeing each other. Key layout under the prefix:

- ``bus:<stream>``: the stream. One entry per message with a single field ``e``, the envelope as
  msgspec JSON bytes, stored and returned verbatim (it round-trips byte for byte).
- ``bus:<stream>:dead``: the stream's dead letters, entries with the fields ``message_id``,
  ``error`` and ``raw``. Stream names ending in ``:dead`` are refused so none can shadow one.
- ``hot:<len(namespace)>:<namespace>:<key>``: one hot-state value, a hash of its fields (each
  field's value as JSON), with its own TTL.
  The length makes the name unambiguous whatever characters namespaces and keys contain.
- ``hot-index:<namespace>``: a sorted set of the namespace's keys scored by expiry (epoch ms of
  the server clock, ``+inf`` for none), the index behind ``get_all``.

Message ids are Redis ids (``<ms>-<seq>``). Streams are capped with ``MAXLEN ~ maxlen``: Redis
trims whole macro-nodes, so a stream holds at least ``maxlen`` entries and at most about one
node (``stream-node-max-entries``, 100 by default) more. Trimming ignores consumer groups:
size ``maxlen`` so that consumers keep up, since a message trimmed before it was read is lost,
and one trimmed while pending disappears from the pending list at the next ``claim_stale``.

The scripts touch several keys of one stream or namespace at once; this targets a single
Redis server (or a primary with replicas), not Redis Cluster, which would need hash tags.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self

import msgspec
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from adapters.bus.common import (
    DeadLetter,
    UnknownGroup,
    check_name,
    check_take,
    unavailable_on,
)
from adapters.bus.redis_bulk import BulkAppender, xadd_head
from domain.errors import InvalidValue
from domain.messaging import Delivery, Envelope, decode_envelope, encode_envelope

__all__ = [
    "DEFAULT_MAXLEN",
    "DEFAULT_PREFIX",
    "ENVELOPE_FIELD",
    "RedisBus",
    "glob_escape",
]

DEFAULT_PREFIX = "lockgate:"
# About 1 KB per envelope: a million messages is ~1 GB of Redis memory per stream at most.
DEFAULT_MAXLEN = 1_000_000
ENVELOPE_FIELD = b"e"
_DEAD_SUFFIX = ":dead"
# What a write raises when the server cannot be reached (BusUnavailable to callers).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError, RedisTimeoutError, OSError)
_MAX_ID_PART = 2**64 - 1

# A stream entry as read: its id and its fields (None if the entry no longer exists).
_Entry = tuple[str, dict[bytes, bytes] | None]

# Move one undecodable entry to the dead-letter stream. XDEL decides who moves it, so readers
# of several groups racing on the same entry dead-letter (and count) it exactly once.
# KEYS: stream, dead-letter stream. ARGV: message id, raw bytes, error, group ('' for none), maxlen.
_DEAD_LETTER = """
if ARGV[4] ~= '' then
  redis.call('XACK', KEYS[1], ARGV[4], ARGV[1])
end
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
           'message_id', ARGV[1], 'error', ARGV[3], 'raw', ARGV[2])
return 1
"""

# XAUTOCLAIM does not report delivery counts; read them in the same atomic step, so no other
# claimer can slip in between and make them wrong.
# KEYS: stream. ARGV: group, consumer, min idle ms, start id, count.
_CLAIM = """
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
                           'COUNT', ARGV[5])
local counts = {}
for i, entry in ipairs(claimed[2]) do
  counts[i] = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)[1][4]
end
return {claimed[1], claimed[2], counts}
"""

class RedisBus:
    """A ``Bus`` on Redis Streams with consumer groups (redis.asyncio; hiredis parses replies).

    ``maxlen`` caps every stream, and its dead-letter stream, approximately (see the module
    notes). A blocking ``consume`` holds one pool connection while it waits (redis-py pools hold
    100 by default: pass ``max_connections`` for more blocked consumers per client), and waits
    in slices of at most ``block_slice_ms``, because redis-py gives sockets a read timeout (5 s
    by default) that a longer ``BLOCK`` would hit. Undecodable entries are moved to
    ``<stream>:dead``, acknowledged and counted in ``malformed_total``; the consumer carries on
    with the next message. The client may be shared; ``decode_responses`` must be off.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        maxlen: int = DEFAULT_MAXLEN,
        block_slice_ms: int = 1_000,
        owns_client: bool = False,
        bulk_client: SyncRedis | None = None,
    ) -> None:
        """Use ``client``; prefix every key with ``prefix``; close the client only if owned.

        ``bulk_client`` (a synchronous client of the same server, owned by the bus) serves
        ``append_many`` from a worker thread (``redis_bulk``): redis-py's asyncio pipelines reach
        about 0.4 of the synchronous hiredis pipeline's rate (STACK.md).
        """
        _check_client(client)
        if maxlen < 1:
            raise InvalidValue(f"maxlen must be at least 1, got {maxlen}")
        if block_slice_ms < 1:
            raise InvalidValue(f"block_slice_ms must be at least 1, got {block_slice_ms}")
        self._client = client
        # redis-py leaves execute_command unannotated; this is the type it has.
        self._execute: Callable[..., Awaitable[Any]] = client.execute_command
        self._prefix = _check_prefix(prefix)
        self._maxlen = maxlen
        self._block_slice_ms = _block_slice(client, block_slice_ms)
        self._owns_client = owns_client
        self._bulk = None if bulk_client is None else BulkAppender(bulk_client)
        self._xadd_heads: dict[str, bytes] = {}
        self._dead_letter = client.register_script(_DEAD_LETTER)
        self._claim = client.register_script(_CLAIM)
        self._blocked: set[asyncio.Future[Any]] = set()
        self._closed = False
        self._client_closed = False
        self.malformed_total = 0

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        maxlen: int = DEFAULT_MAXLEN,
        **client_options: Any,
    ) -> Self:
        """Open a client for ``url`` (``Redis.from_url`` options) that the bus owns.

        Ping once, so an unreachable server fails here rather than at the first message.
        """
        return cls(await _open(url, client_options), prefix=prefix, maxlen=maxlen,
                   owns_client=True, bulk_client=SyncRedis.from_url(url, **client_options))

    def stream_key(self, stream: str) -> str:
        """Return the Redis key of ``stream``; refuse names a dead-letter stream could have."""
        check_name("stream", stream)
        if stream.endswith(_DEAD_SUFFIX):
            raise InvalidValue(f"a stream name must not end in {_DEAD_SUFFIX!r}, got {stream!r}")
        return f"{self._prefix}bus:{stream}"

    def dead_letter_key(self, stream: str) -> str:
        """Return the Redis key of the dead-letter stream of ``stream``."""
        return self.stream_key(stream) + _DEAD_SUFFIX

    async def append(self, stream: str, envelope: Envelope) -> str:
        """Append a message; return its id."""
        return await self.append_raw(stream, encode_envelope(envelope))

    async def append_many(self, stream: str, envelopes: Sequence[Envelope]) -> list[str]:
        """Append messages in order with one pipelined round trip; return their ids."""
        if not envelopes:
            return []
        key = self.stream_key(stream)
        encoded = [encode_envelope(envelope) for envelope in envelopes]
        if self._bulk is not None:
            head = self._xadd_heads.get(key)
            if head is None:
                head = self._xadd_heads[key] = xadd_head(key, self._maxlen, ENVELOPE_FIELD)
            with unavailable_on(CONNECTION_ERRORS, "Redis bus"):
                ids: list[bytes] = await self._bulk.xadd_many(head, encoded)
        else:
            pipe = self._client.pipeline(transaction=False)
            for data in encoded:
                pipe.execute_command("XADD", key, "MAXLEN", "~", self._maxlen, "*",
                                     ENVELOPE_FIELD, data)
            with unavailable_on(CONNECTION_ERRORS, "Redis bus"):
                ids = await pipe.execute()
        return [message_id.decode() for message_id in ids]

    async def append_raw(self, stream: str, data: bytes) -> str:
        """Append bytes unvalidated, as a bridge from another transport would; return the id.

        Readers validate at the boundary: bytes that do not decode are dead-lettered, never
        delivered. Tests use this to put a corrupt message on a stream.
        """
        key = self.stream_key(stream)
        with unavailable_on(CONNECTION_ERRORS, "Redis bus"):
            message_id: bytes = await self._execute(
                "XADD", key, "MAXLEN", "~", self._maxlen, "*", ENVELOPE_FIELD, bytes(data))
        return message_id.decode()

    async def ensure_group(self, stream: str, group: str, from_start: bool = True) -> None:
        """Create a consumer group (idempotent); new groups read from the start by default."""
        key = self.stream_key(stream)
        check_name("group", group)
        try:
            await self._execute(
                "XGROUP", "CREATE", key, group, "0" if from_start else "$", "MKSTREAM")
        except ResponseError as exc:
            # The group exists already: it keeps its position, as ensure_group promises.
            if not str(exc).startswith("BUSYGROUP"):
                raise

    async def consume(
        self, stream: str, group: str, consumer: str, count: int = 100, block_ms: int = 0
    ) -> list[Delivery]:
        """Take up to ``count`` new messages for this consumer, waiting up to ``block_ms``.

        Once the bus is closed, return what was already read, or nothing. Messages Redis
        delivered to a blocking read that ``close`` cut short stay pending for this consumer,
        for ``claim_stale``.
        """
        check_name("consumer", consumer)
        check_take(count, block_ms)
        key = self.stream_key(stream)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + block_ms / 1000.0
        out: list[Delivery] = []
        block: int | None = None
        while not self._closed:
            wanted = count - len(out)
            entries = await self._read_group(stream, key, group, consumer, wanted, block)
            if entries is None:
                return []
            out += await self._deliverable(stream, key, group, entries)
            if len(out) >= count:
                return out
            if len(entries) == wanted:
                # A full batch, thinned by dead letters: more may be waiting right now.
                block = None
                continue
            remaining_ms = math.ceil((deadline - loop.time()) * 1000.0)
            if out or remaining_ms <= 0:
                return out
            # BLOCK 0 would wait for ever; remaining_ms is at least 1 here.
            block = min(remaining_ms, self._block_slice_ms)
        # Closed while reading: hand over what Redis already delivered (and made pending).
        return out

    async def ack(self, stream: str, group: str, message_ids: Sequence[str]) -> int:
        """Acknowledge messages; return how many were pending."""
        ids = sorted({_parse_id(m) for m in message_ids})
        if not ids:
            return 0
        acked: int = await self._execute(
            "XACK", self.stream_key(stream), group, *(_format_id(i) for i in ids))
        return acked

    async def pending(self, stream: str, group: str) -> int:
        """Return how many delivered messages are not yet acknowledged."""
        try:
            summary = await self._execute(
                "XPENDING", self.stream_key(stream), group)
        except ResponseError as exc:
            if str(exc).startswith("NOGROUP"):
                return 0
            raise
        # redis-py turns the summary into a dict; a raw reply starts with the count.
        return int(summary["pending"] if isinstance(summary, dict) else summary[0])

    async def length(self, stream: str) -> int:
        """Return how many messages the stream holds (0 for a stream never appended to)."""
        key = self.stream_key(stream)
        with unavailable_on(CONNECTION_ERRORS, "Redis bus"):
            count: int = await self._execute("XLEN", key)
        return count

    async def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int = 100
    ) -> list[Delivery]:
        """Take over messages another consumer left pending for at least ``min_idle_ms``.

        Pending entries whose message is gone (trimmed or dead-lettered) are dropped from the
        pending list by Redis on the way, since there is nothing left to hand over.
        """
        check_name("consumer", consumer)
        check_take(count, min_idle_ms, "min_idle_ms")
        key = self.stream_key(stream)
        out: list[Delivery] = []
        cursor = "0-0"
        while len(out) < count:
            try:
                reply = await self._claim(keys=[key], args=[
                    group, consumer, min_idle_ms, cursor, count - len(out)])
            except ResponseError as exc:
                raise _group_error(exc, stream, group) from exc
            cursor_raw, raw_entries, counts = reply
            entries = [_entry(e) for e in raw_entries]
            delivered = await self._deliverable(stream, key, group, entries)
            by_id = dict(zip((m for m, _ in entries), counts, strict=True))
            out += [Delivery(d.message_id, d.envelope, int(by_id[d.message_id]))
                    for d in delivered]
            # XAUTOCLAIM scans a bounded stretch of the pending list per call; "0-0" = done.
            cursor = cursor_raw.decode()
            if cursor == "0-0":
                break
        return out

    async def replay(
        self, stream: str, after: str | None = None, count: int = 1000
    ) -> list[Delivery]:
        """Read up to ``count`` messages after position ``after`` (from the start if None)."""
        check_take(count, 0)
        key = self.stream_key(stream)
        if after is None:
            start = "-"
        else:
            position = _parse_id(after)
            if position == (_MAX_ID_PART, _MAX_ID_PART):
                return []  # nothing can come after the last possible id
            start = "(" + _format_id(position)
        out: list[Delivery] = []
        while len(out) < count:
            wanted = count - len(out)
            reply = await self._execute("XRANGE", key, start, "+", "COUNT", wanted)
            entries = [_entry(e) for e in reply]
            if not entries:
                break
            start = "(" + entries[-1][0]
            out += await self._deliverable(stream, key, None, entries)
            if len(entries) < wanted:
                break
        return out

    async def read_dead_letters(
        self, stream: str | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        """Return up to ``limit`` dead letters, oldest first, of one stream or of all.

        Redis ids order entries within a stream only; across streams, dead letters are ordered
        by the millisecond they were dead-lettered in, ties by stream name.
        """
        check_take(limit, 0)
        if stream is not None:
            keys = [(stream, self.dead_letter_key(stream))]
        else:
            # Only operators ask across streams: a SCAN of this prefix is cheap enough for them.
            head = f"{self._prefix}bus:"
            keys = [
                (found.decode()[len(head):-len(_DEAD_SUFFIX)], found.decode())
                async for found in self._client.scan_iter(
                    match=glob_escape(head) + "*" + _DEAD_SUFFIX, count=1000, _type="STREAM")]
        letters: list[tuple[tuple[int, str, int], DeadLetter]] = []
        for name, key in keys:
            reply = await self._execute("XRANGE", key, "-", "+", "COUNT", limit)
            for dead_id, found in map(_entry, reply):
                fields = found or {}
                ms, seq = _parse_id(dead_id)
                letters.append(((ms, name, seq), DeadLetter(
                    name, fields.get(b"message_id", b"").decode(), fields.get(b"raw", b""),
                    fields.get(b"error", b"").decode(errors="replace"))))
        letters.sort(key=lambda pair: pair[0])
        return [letter for _, letter in letters[:limit]]

    async def close(self) -> None:
        """Wake blocked consumers (they return empty-handed); release the client if owned."""
        self._closed = True
        blocked = list(self._blocked)
        for read in blocked:
            read.cancel()
        if blocked:
            await asyncio.wait(blocked)
        if self._owns_client and not self._client_closed:
            self._client_closed = True
            await self._client.aclose()
            if self._bulk is not None:
                self._bulk.close()

    # -- internals ---------------------------------------------------------------------------

    async def _read_group(
        self, stream: str, key: str, group: str, consumer: str, count: int, block: int | None
    ) -> list[_Entry] | None:
        """XREADGROUP new entries; None if ``close`` interrupted a blocking read."""
        args: list[Any] = ["XREADGROUP", "GROUP", group, consumer, "COUNT", count]
        if block is not None:
            args += ["BLOCK", block]
        args += ["STREAMS", key, ">"]
        command = self._execute(*args)
        try:
            if block is None:
                return _read_reply(await command)
            # A blocking read runs as its own task so close() can cancel it while we wait.
            read = asyncio.ensure_future(command)
            self._blocked.add(read)
            try:
                await asyncio.wait({read})
            finally:
                self._blocked.discard(read)
                if not read.done():
                    read.cancel()  # we were cancelled ourselves
            if read.cancelled() or self._closed:
                if not read.cancelled():
                    read.exception()  # retrieved: the closing client may have failed it
                return None
            return _read_reply(read.result())
        except ResponseError as exc:
            raise _group_error(exc, stream, group) from exc

    async def _deliverable(
        self, stream: str, key: str, group: str | None, entries: list[_Entry]
    ) -> list[Delivery]:
        """Decode entries; dead-letter (and, in a group, acknowledge) those that do not."""
        out: list[Delivery] = []
        for message_id, fields in entries:
            if fields is None:
                continue  # deleted under us: nothing to deliver, nothing to keep
            data = fields.get(ENVELOPE_FIELD)
            if data is None:
                error = f"malformed envelope: no {ENVELOPE_FIELD.decode()!r} field"
                raw = _describe(fields)
            else:
                try:
                    out.append(Delivery(message_id, decode_envelope(data)))
                    continue
                except InvalidValue as exc:
                    error, raw = str(exc), data
            moved: int = await self._dead_letter(
                keys=[key, key + _DEAD_SUFFIX],
                args=[message_id, raw, error, group or "", self._maxlen])
            self.malformed_total += moved
        return out


def glob_escape(text: str) -> str:
    """Escape ``text`` for a Redis glob pattern (SCAN MATCH, KEYS), so it matches literally."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


async def _open(url: str, options: dict[str, Any]) -> Redis:
    client = Redis.from_url(url, **options)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return client


def _check_client(client: Redis) -> None:
    # Envelopes are bytes and must come back as bytes, untouched.
    if client.connection_pool.connection_kwargs.get("decode_responses"):
        raise InvalidValue("the Redis client must not decode responses (decode_responses=False)")


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or len(prefix) > 200:
        raise InvalidValue(f"a key prefix is a string of at most 200 characters, got {prefix!r}")
    return prefix


def _block_slice(client: Redis, ceiling_ms: int) -> int:
    # A BLOCK longer than the socket's read timeout fails as a timeout: stay well below it.
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    if isinstance(timeout, int | float) and timeout > 0:
        return max(1, min(ceiling_ms, int(timeout * 1000) // 2))
    return ceiling_ms


def _group_error(exc: ResponseError, stream: str, group: str) -> Exception:
    return UnknownGroup(stream, group) if str(exc).startswith("NOGROUP") else exc


def _parse_id(message_id: str) -> tuple[int, int]:
    """Return ``(ms, seq)`` of a Redis stream id; ``<ms>`` alone means ``<ms>-0``."""
    ms, sep, seq = message_id.partition("-") if isinstance(message_id, str) else ("", "", "")
    parts = (ms, seq) if sep else (ms, "0")
    if not all(p.isascii() and p.isdigit() and int(p) <= _MAX_ID_PART for p in parts):
        raise InvalidValue(f"not a Redis stream id: {message_id!r}")
    return int(parts[0]), int(parts[1])


def _format_id(position: tuple[int, int]) -> str:
    return f"{position[0]}-{position[1]}"


def _entry(raw: Any) -> _Entry:
    """Normalise one stream entry: redis-py gives fields as a dict, a script as a flat list."""
    message_id, fields = raw[0], raw[1]
    if fields is not None and not isinstance(fields, dict):
        fields = dict(zip(fields[::2], fields[1::2], strict=True))
    return message_id.decode(), fields


def _read_reply(reply: Any) -> list[_Entry]:
    """Return the entries of a one-stream XREADGROUP reply.

    redis-py shapes it by protocol: RESP2 ``[[stream, entries]]``, RESP3 ``{stream: entries}``
    or, in its legacy RESP3 form, ``{stream: [entries]}``.
    """
    if not reply:
        return []
    [entries] = reply.values() if isinstance(reply, dict) else [item[1] for item in reply]
    if entries and isinstance(entries[0], list):
        [entries] = entries
    return [_entry(e) for e in entries]


def _describe(fields: dict[bytes, bytes]) -> bytes:
    """Render an entry's fields as JSON for a dead letter, when it had no envelope field."""
    return msgspec.json.encode({
        name.decode(errors="backslashreplace"): value.decode(errors="backslashreplace")
        for name, value in fields.items()})
