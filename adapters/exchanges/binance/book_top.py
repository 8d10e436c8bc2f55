"""The top of a local order book as consumers see it, and a conflating way to follow it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec

from adapters.exchanges.binance.orderbook import Level
from domain.instruments import InstrumentId
from domain.market import Quote


class TopOfBook(msgspec.Struct, frozen=True, gc=False):
    """The best ``top_levels`` of each side (best first) after the book changed there.

    ``synced=False`` (with no levels) says the book was discarded: stop serving its prices.
    ``ts_event`` is the exchange time of the latest diff received for the instrument.
    """

    instrument_id: InstrumentId
    synced: bool
    update_id: int | None
    ts_event: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    price_precision: int
    size_precision: int

    def quote(self) -> Quote | None:
        """Return the best bid and ask as a ``Quote``, or ``None`` while a side is empty."""
        if not (self.bids and self.asks):
            return None
        (bid, bid_size), (ask, ask_size) = self.bids[0], self.asks[0]
        return Quote(self.instrument_id, self.ts_event, bid, ask, bid_size, ask_size,
                     self.price_precision, self.size_precision)


class LatestTops:
    """A conflating async iterator of ``TopOfBook``: pass it as ``on_top``.

    Only the newest top per instrument is kept, so a slow publisher skips states that are
    already outdated instead of queueing them without bound.
    """

    def __init__(self) -> None:
        self._latest: dict[InstrumentId, TopOfBook] = {}
        self._ready = asyncio.Event()
        self._closed = False

    def __call__(self, top: TopOfBook) -> None:
        # Re-inserting moves the instrument to the back: busy books cannot starve quiet ones.
        self._latest.pop(top.instrument_id, None)
        self._latest[top.instrument_id] = top
        self._ready.set()

    def close(self) -> None:
        """End the iteration once what is pending has been taken."""
        self._closed = True
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[TopOfBook]:
        return self

    async def __anext__(self) -> TopOfBook:
        while not self._latest:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._latest.pop(next(iter(self._latest)))
