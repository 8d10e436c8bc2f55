"""Bulk XADD for ``RedisBus.append_many``: one pre-encoded pipeline, sent from a worker thread.

redis-py's pipelines spend most of their time encoding each command generically (STACK.md: its
asyncio pipeline reaches ~0.4 of the synchronous one). Every XADD of a batch shares all its
arguments but the envelope, so the batch is encoded here once as RESP2 (a constant head per
stream, plus ``$<len>\\r\\n<envelope>\\r\\n`` per message), written in one call on a connection of
a synchronous client's pool, and its replies are parsed by that connection (hiredis). The thread
waits on the socket without holding the GIL, so the event loop keeps running meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redis import Redis as SyncRedis
from redis.exceptions import ResponseError


def xadd_head(key: str, maxlen: int, field: bytes) -> bytes:
    """Return the RESP encoding of ``XADD key MAXLEN ~ maxlen * field`` before the value."""
    return b"*8\r\n" + b"".join(_bulk(arg) for arg in (
        b"XADD", key.encode(), b"MAXLEN", b"~", str(maxlen).encode(), b"*", field))


def _bulk(arg: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(arg), arg)


class BulkAppender:
    """Append many values to one stream per call through a synchronous client it owns."""

    def __init__(self, client: SyncRedis) -> None:
        """Use (and own) ``client``; its ``decode_responses`` must be off."""
        self._client = client

    async def xadd_many(self, head: bytes, values: Sequence[bytes]) -> list[bytes]:
        """Run one XADD per value (``head`` from ``xadd_head``) in order; return the ids."""
        return await asyncio.to_thread(self._send, head, values)

    def _send(self, head: bytes, values: Sequence[bytes]) -> list[bytes]:
        packed = b"".join([head + b"$%d\r\n%s\r\n" % (len(value), value) for value in values])
        pool = self._client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command([packed], check_health=True)  # type: ignore[no-untyped-call]
            # Read every reply even after an error one, so the connection stays in step.
            replies: list[bytes] = []
            error: ResponseError | None = None
            for _ in values:
                try:
                    replies.append(conn.read_response())
                except ResponseError as exc:
                    error = error or exc
            if error is not None:
                raise error
            return replies
        finally:
            pool.release(conn)

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()
