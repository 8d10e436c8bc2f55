"""Depth snapshots from Binance REST (``GET /api/v3/depth``) through ccxt, validated.

``CcxtDepthSource`` is the ``SnapshotSource`` of ``book_sync`` for Binance, its testnet or the
fake venue (the client's base URL decides, see ``rest.spot_client``). ccxt returns the decoded
JSON; ``snapshot_from_payload`` checks it against Binance's schema and turns it into a
``DepthSnapshot`` at the instrument's precision, or raises ``SnapshotRejected`` saying why.
"""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt
import msgspec

from adapters.exchanges.binance import messages as m
from adapters.exchanges.binance.book_sync import MAX_DEPTH_LIMIT, SnapshotRejected
from adapters.exchanges.binance.errors import FeedRejected
from adapters.exchanges.binance.orderbook import DepthSnapshot
from adapters.exchanges.binance.parse import depth_snapshot_from_msg
from adapters.exchanges.binance.streams import binance_symbol
from domain.instruments import Instrument


def snapshot_from_payload(payload: Any, instrument: Instrument) -> DepthSnapshot:
    """Validate a decoded ``/api/v3/depth`` response into a ``DepthSnapshot``.

    Refused: a wrong shape or types, numbers finer than the instrument's precision or not
    plain decimals, non-positive prices, levels without size, crossed sides, a price listed
    twice on one side, and a non-positive ``lastUpdateId``.
    """
    symbol = binance_symbol(instrument.id)
    try:
        msg = msgspec.convert(payload, m.DepthSnapshotMsg)
    except msgspec.ValidationError as exc:
        raise SnapshotRejected(f"{symbol} depth snapshot: schema: {exc}") from None
    if msg.last_update_id <= 0:
        raise SnapshotRejected(f"{symbol} depth snapshot: lastUpdateId {msg.last_update_id}")
    try:
        snapshot = depth_snapshot_from_msg(msg, instrument)
    except FeedRejected as exc:
        raise SnapshotRejected(f"{symbol} depth snapshot: {exc}") from None
    for side, levels in (("bids", snapshot.bids), ("asks", snapshot.asks)):
        if len({price for price, _ in levels}) != len(levels):
            # The book is keyed by price: a repeated level would silently keep one size.
            raise SnapshotRejected(f"{symbol} depth snapshot: a price repeats in {side}")
    return snapshot


class CcxtDepthSource:
    """Fetch spot depth snapshots with a ccxt Binance client (any base URL).

    ccxt's own rate limiter paces the calls by their weight (a 5000-level snapshot costs 250 of
    the 6000 per minute), so concurrent fetches through one client queue instead of
    getting the IP banned.
    """

    def __init__(self, client: ccxt.binance) -> None:
        self._client = client

    async def fetch_snapshot(self, instrument: Instrument, limit: int) -> DepthSnapshot:
        """Return ``instrument``'s book to ``limit`` levels a side (1..5000)."""
        if not 1 <= limit <= MAX_DEPTH_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_DEPTH_LIMIT}, got {limit}")
        payload = await self._client.publicGetDepth(
            {"symbol": binance_symbol(instrument.id), "limit": limit})
        return snapshot_from_payload(payload, instrument)
