"""A local spot order book kept from a REST depth snapshot plus ``depthUpdate`` diff events.

Binance's procedure for spot ("How to manage a local order book correctly"): buffer diffs,
fetch a snapshot, drop buffered events with ``u <= lastUpdateId``, require the first applied
event to straddle it (``U <= lastUpdateId + 1 <= u``), then require every later event to chain
(``U == previous u + 1``). Quantities are absolute; zero removes a level. When the chain breaks
the book discards itself and asks for a new snapshot (``BookStatus.RESYNC``).

Prices and sizes are fixed-point ints at the instrument's precision (``domain.fixed``).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from enum import StrEnum

import msgspec

from domain.instruments import Instrument, InstrumentId

Level = tuple[int, int]
"""``(price, size)`` as fixed-point raw ints."""


class DepthDiff(msgspec.Struct, frozen=True, gc=False):
    """One diff event: absolute sizes of the levels that changed in updates ``U..u``."""

    instrument_id: InstrumentId
    ts_event: int
    first_update_id: int
    final_update_id: int
    prev_final_update_id: int | None
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    price_precision: int
    size_precision: int


class DepthSnapshot(msgspec.Struct, frozen=True, gc=False):
    """The book as of ``last_update_id`` (REST ``GET /api/v3/depth``); bids best first."""

    instrument_id: InstrumentId
    last_update_id: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    price_precision: int
    size_precision: int


class BookStatus(StrEnum):
    """What feeding one diff or snapshot did to the book."""

    APPLIED = "applied"    # the book now stands at the event's final update id
    STALE = "stale"        # already contained in the book (u <= its update id): dropped
    BUFFERED = "buffered"  # no usable snapshot yet: kept to replay after the snapshot
    RESYNC = "resync"      # continuity broke (or the snapshot was too old): fetch a snapshot


class _Side:
    """One side's levels with a lazily recomputed best price (max for bids, min for asks)."""

    __slots__ = ("_best", "_is_bid", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.levels: dict[int, int] = {}
        self._is_bid = is_bid
        self._best: int | None = None

    def set(self, price: int, size: int) -> None:
        if size:
            self.levels[price] = size
            best = self._best
            if best is None:
                if len(self.levels) == 1:  # the only level is the best; otherwise scan lazily
                    self._best = price
            elif price > best if self._is_bid else price < best:
                self._best = price
        elif self.levels.pop(price, None) is not None and price == self._best:
            # Only removing the best forces a scan; ordinary updates stay O(1).
            self._best = None

    def best(self) -> int | None:
        if self._best is None and self.levels:
            self._best = max(self.levels) if self._is_bid else min(self.levels)
        return self._best

    def top(self, n: int) -> list[Level]:
        prices = (heapq.nlargest if self._is_bid else heapq.nsmallest)(n, self.levels)
        return [(price, self.levels[price]) for price in prices]

    def clear(self) -> None:
        self.levels.clear()
        self._best = None


class LocalOrderBook:
    """A spot book for one instrument, synchronised by Binance's snapshot-plus-diff rules."""

    def __init__(self, instrument: Instrument, max_buffered: int = 10_000) -> None:
        self.instrument = instrument
        self._bids = _Side(is_bid=True)
        self._asks = _Side(is_bid=False)
        # Diffs wait here until a snapshot arrives; the oldest go first if it never does.
        self._buffer: deque[DepthDiff] = deque(maxlen=max_buffered)
        self._update_id: int | None = None
        self._bridged = False

    @property
    def synced(self) -> bool:
        """Return whether the book stands on a snapshot (and may be read)."""
        return self._update_id is not None

    @property
    def last_update_id(self) -> int | None:
        """Return the update id the book stands at, or ``None`` while unsynchronised."""
        return self._update_id

    @property
    def buffered(self) -> int:
        """Return how many diffs wait for a snapshot."""
        return len(self._buffer)

    def on_diff(self, diff: DepthDiff) -> BookStatus:
        """Apply, drop or buffer one diff event; ``RESYNC`` means fetch a new snapshot."""
        if self._update_id is None:
            self._buffer.append(diff)
            return BookStatus.BUFFERED
        return self._apply(diff)

    def on_snapshot(self, snapshot: DepthSnapshot) -> BookStatus:
        """Load a snapshot and replay the buffered diffs over it.

        Return ``APPLIED`` when the book is synchronised, or ``RESYNC`` when the snapshot is
        older than the first buffered diff or the buffered diffs do not chain onto it (fetch
        another snapshot; the buffer is kept).
        """
        buffered = list(self._buffer)
        if buffered and snapshot.last_update_id + 1 < buffered[0].first_update_id:
            return BookStatus.RESYNC  # updates between snapshot and buffer are lost: too old
        self._clear_levels()
        for price, size in snapshot.bids:
            self._bids.set(price, size)
        for price, size in snapshot.asks:
            self._asks.set(price, size)
        self._update_id = snapshot.last_update_id
        self._bridged = False
        self._buffer.clear()
        for i, diff in enumerate(buffered):
            if self._apply(diff) is BookStatus.RESYNC:
                self._buffer.extend(buffered[i + 1:])
                return BookStatus.RESYNC
        return BookStatus.APPLIED

    def best_bid(self) -> Level | None:
        """Return the best bid ``(price, size)``, or ``None`` (also while unsynchronised)."""
        price = self._bids.best()
        return None if price is None else (price, self._bids.levels[price])

    def best_ask(self) -> Level | None:
        """Return the best ask ``(price, size)``, or ``None`` (also while unsynchronised)."""
        price = self._asks.best()
        return None if price is None else (price, self._asks.levels[price])

    def bids(self, depth: int) -> list[Level]:
        """Return up to ``depth`` bid levels, best first."""
        return self._bids.top(depth)

    def asks(self, depth: int) -> list[Level]:
        """Return up to ``depth`` ask levels, best first."""
        return self._asks.top(depth)

    def snapshot(self) -> DepthSnapshot:
        """Return the whole book as a snapshot (for diagnostics and tests)."""
        if self._update_id is None:
            raise ValueError("the book is not synchronised")
        inst = self.instrument
        return DepthSnapshot(inst.id, self._update_id,
                             tuple(self._bids.top(len(self._bids.levels))),
                             tuple(self._asks.top(len(self._asks.levels))),
                             inst.price_precision, inst.size_precision)

    def _apply(self, diff: DepthDiff) -> BookStatus:
        book_id = self._update_id
        assert book_id is not None
        if diff.final_update_id <= book_id:
            return BookStatus.STALE
        if self._bridged:
            chained = diff.first_update_id == book_id + 1
        else:
            # The first event after the snapshot may start earlier but must cover book_id + 1.
            chained = diff.first_update_id <= book_id + 1
        if not chained:
            return self._resync((diff,))
        for price, size in diff.bids:
            self._bids.set(price, size)
        for price, size in diff.asks:
            self._asks.set(price, size)
        self._update_id = diff.final_update_id
        self._bridged = True
        bid, ask = self._bids.best(), self._asks.best()
        if bid is not None and ask is not None and bid >= ask:
            # A crossed local book means a lost or corrupt update: never serve it.
            return self._resync(())
        return BookStatus.APPLIED

    def _resync(self, restart_with: Iterable[DepthDiff]) -> BookStatus:
        # "Discard your local order book and restart": the stream is still open, so the event
        # that broke the chain is the first one to buffer for the next snapshot.
        self._clear_levels()
        self._update_id = None
        self._bridged = False
        self._buffer.clear()
        self._buffer.extend(restart_with)
        return BookStatus.RESYNC

    def _clear_levels(self) -> None:
        self._bids.clear()
        self._asks.clear()
