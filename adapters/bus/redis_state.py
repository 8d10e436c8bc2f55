"""Redis ``HotState``: one hash per value with its own TTL, and a per-namespace index.

Key layout and the single-server caveat: see ``adapters/bus/redis.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Self

from redis.asyncio import Redis

from adapters.bus.common import (
    check_name,
    check_ttl,
    decode_fields,
    encode_fields,
    unavailable_on,
)
from adapters.bus.redis import (
    CONNECTION_ERRORS,
    DEFAULT_PREFIX,
    _check_client,
    _check_prefix,
    _open,
)

# get_all reads values in chunks, so one script never holds the server for long.
_GET_ALL_CHUNK = 500

# Write a value's fields (after clearing the hash for a put, onto it for a merge), set or clear
# its TTL and index its key by expiry, on the server clock every process shares. The score is
# taken after the key's own expiry time, so it is never earlier than the real expiry: pruning
# scores in the past never drops a live key. Pruning here keeps the index bounded by the live
# keys even for namespaces nobody calls get_all on. A hash cannot be empty, so an empty value
# is one field named '' (encode_fields refuses that name for real fields).
# KEYS: value key, namespace index. ARGV: key, ttl ms ('' for none), 'put' | 'merge', then
# field/value pairs.
_WRITE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == 'put' then
  redis.call('DEL', KEYS[1])
end
if #ARGV > 3 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 4))
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], '', '')
end
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[2], 'inf', ARGV[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%.0f', now))
return 1
"""

# Read the hashes of some indexed keys; drop from the index the keys whose value has expired
# or was deleted. Atomic, so a write racing with us is never dropped from the index.
# KEYS: namespace index, then one value key per member. ARGV: the members (keys).
_GET_MANY = """
local out = {}
for i = 2, #KEYS do
  local value = redis.call('HGETALL', KEYS[i])
  if #value > 0 then
    out[#out + 1] = ARGV[i - 1]
    out[#out + 1] = value
  else
    redis.call('ZREM', KEYS[1], ARGV[i - 1])
  end
end
return out
"""


class RedisHotState:
    """A ``HotState`` on Redis: a hash per (namespace, key), expiring by itself.

    Each field of a value is a hash field holding the field's JSON, so ``redis-cli HGETALL``
    shows a record and ``merge`` updates some fields in place. Redis 7 has no per-field TTL, so
    the TTL belongs to the whole record (``merge`` restarts it). ``get`` is a single HGETALL;
    ``get_all`` reads through the namespace's index and removes the keys it finds expired
    (lazily, as every write also does for expired index entries).
    """

    def __init__(
        self, client: Redis, *, prefix: str = DEFAULT_PREFIX, owns_client: bool = False
    ) -> None:
        """Use ``client``; prefix every key with ``prefix``; close the client only if owned."""
        _check_client(client)
        self._client = client
        self._execute: Callable[..., Awaitable[Any]] = client.execute_command
        self._prefix = _check_prefix(prefix)
        self._owns_client = owns_client
        self._client_closed = False
        self._write = client.register_script(_WRITE)
        self._get_many = client.register_script(_GET_MANY)

    @classmethod
    async def connect(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, **client_options: Any
    ) -> Self:
        """Open a client for ``url`` (``Redis.from_url`` options) that the store owns."""
        return cls(await _open(url, client_options), prefix=prefix, owns_client=True)

    def value_key(self, namespace: str, key: str) -> str:
        """Return the Redis key holding the value of ``key`` in ``namespace``."""
        check_name("namespace", namespace)
        check_name("key", key)
        return f"{self._prefix}hot:{len(namespace)}:{namespace}:{key}"

    def index_key(self, namespace: str) -> str:
        """Return the Redis key of the sorted set indexing the keys of ``namespace``."""
        check_name("namespace", namespace)
        return f"{self._prefix}hot-index:{namespace}"

    async def put(
        self, namespace: str, key: str, value: Mapping[str, Any], ttl_ms: int | None = None
    ) -> None:
        """Store the latest value for a key, replacing the previous one (and its TTL)."""
        await self._store(namespace, key, value, ttl_ms, "put")

    async def merge(
        self, namespace: str, key: str, fields: Mapping[str, Any], ttl_ms: int | None = None
    ) -> None:
        """Set some fields of a key's value, keeping its others, and restart its TTL."""
        await self._store(namespace, key, fields, ttl_ms, "merge")

    async def _store(self, namespace: str, key: str, value: Mapping[str, Any],
                     ttl_ms: int | None, mode: str) -> None:
        value_key = self.value_key(namespace, key)
        check_ttl(ttl_ms)
        pairs = [part for name, data in encode_fields(value) for part in (name, data)]
        with unavailable_on(CONNECTION_ERRORS, "Redis hot state"):
            await self._write(keys=[value_key, self.index_key(namespace)],
                              args=[key, "" if ttl_ms is None else ttl_ms, mode, *pairs])

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Return the value, or None if absent or expired."""
        fields: dict[bytes, bytes] = await self._execute("HGETALL", self.value_key(namespace, key))
        return decode_fields(fields) if fields else None

    async def get_all(self, namespace: str) -> dict[str, dict[str, Any]]:
        """Return every live value of a namespace by key."""
        index = self.index_key(namespace)
        members: list[bytes] = await self._execute("ZRANGE", index, 0, -1)
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(members), _GET_ALL_CHUNK):
            chunk = [m.decode() for m in members[start:start + _GET_ALL_CHUNK]]
            pairs = await self._get_many(
                keys=[index, *(self.value_key(namespace, k) for k in chunk)], args=chunk)
            for i in range(0, len(pairs), 2):
                flat = pairs[i + 1]
                out[pairs[i].decode()] = decode_fields(dict(zip(flat[::2], flat[1::2],
                                                                strict=True)))
        return out

    async def delete(self, namespace: str, key: str) -> None:
        """Remove a key."""
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.unlink(self.value_key(namespace, key))
            pipe.zrem(self.index_key(namespace), key)
            await pipe.execute()

    async def close(self) -> None:
        """Release the client if the store owns it."""
        if self._owns_client and not self._client_closed:
            self._client_closed = True
            await self._client.aclose()
