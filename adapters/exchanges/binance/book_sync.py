"""Keep one ``LocalOrderBook`` per instrument in sync from depth diffs plus REST snapshots.

Binance's spot procedure ("How to manage a local order book correctly"): buffer the
``@depth`` diffs, fetch ``GET /api/v3/depth``; if its ``lastUpdateId`` is older than the first
buffered diff, fetch again; drop buffered diffs with ``u <= lastUpdateId``, apply the rest, then
every later diff must chain (``U == previous u + 1``), otherwise discard the book and start over.
``LocalOrderBook`` holds those rules; ``OrderBookSync`` drives them: whenever a book has no
snapshot (first diffs, or a broken chain) it fetches one in a background task, at most one per
instrument, so diffs keep being buffered meanwhile. Failed or rejected fetches are retried with
capped exponential backoff and counted; they never stop the sync.

Where snapshots come from is a ``SnapshotSource`` (``depth_rest.CcxtDepthSource`` for Binance).
Consumers may follow the top of each book through ``on_top`` (``book_top.LatestTops`` turns that
into a conflating async iterator).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from adapters.exchanges.binance.book_top import TopOfBook
from adapters.exchanges.binance.orderbook import (
    BookStatus,
    DepthDiff,
    DepthSnapshot,
    Level,
    LocalOrderBook,
)
from adapters.exchanges.binance.streams import binance_symbol
from domain.instruments import Instrument, InstrumentId

log = logging.getLogger(__name__)

MAX_DEPTH_LIMIT = 5000  # the deepest snapshot GET /api/v3/depth serves


class SnapshotRejected(ValueError):
    """A snapshot payload was malformed or inconsistent; the message says what was wrong."""


class SnapshotSource(Protocol):
    """Where depth snapshots come from (Binance REST, another venue, a recording...)."""

    async def fetch_snapshot(self, instrument: Instrument, limit: int) -> DepthSnapshot:
        """Return the book of ``instrument`` to ``limit`` levels a side.

        Raise ``SnapshotRejected`` for a malformed payload; any other exception counts as a
        failed request. Both are retried by the sync.
        """
        ...


class SnapshotOutcome(StrEnum):
    """How one snapshot fetch ended (the ``outcome`` label: a closed set)."""

    APPLIED = "applied"    # the book is synchronised on it
    RESYNC = "resync"      # too old for the buffered diffs, or they broke on it: fetch again
    REJECTED = "rejected"  # the payload was malformed
    FAILED = "failed"      # the request raised or timed out


@dataclass(frozen=True, slots=True)
class BookMetrics:
    """The order-book sync's metrics on one registry; ``symbol`` is a configured symbol."""

    snapshots: Counter
    resyncs: Counter
    buffered: Gauge
    synced: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> BookMetrics:
        """Register the metrics (once per registry; ``default_book_metrics`` for the global)."""
        return cls(
            snapshots=Counter("lockgate_book_snapshots_total",
                              "Depth snapshot fetches, by symbol and outcome",
                              ("symbol", "outcome"), registry=registry),
            resyncs=Counter("lockgate_book_resyncs_total",
                            "Synchronised books discarded because the diff chain broke",
                            ("symbol",), registry=registry),
            buffered=Gauge("lockgate_book_buffered_diffs",
                           "Diffs waiting for a snapshot", ("symbol",), registry=registry),
            synced=Gauge("lockgate_book_synced", "1 while the local book is synchronised",
                         ("symbol",), registry=registry),
        )


_default: BookMetrics | None = None


def default_book_metrics() -> BookMetrics:
    """Return the metrics on the global registry, registering them on first use."""
    global _default  # noqa: PLW0603 - one set per process registry, created lazily
    if _default is None:
        _default = BookMetrics.create()
    return _default


@dataclass(frozen=True, slots=True)
class BookSyncConfig:
    """Snapshot depth, published depth and retry pacing; validated on construction."""

    depth_limit: int = MAX_DEPTH_LIMIT  # Binance's example asks for 5000 (weight 250)
    top_levels: int = 20
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    backoff_jitter: float = 0.25  # each delay is cut by up to this fraction, at random
    fetch_timeout_s: float = 30.0
    max_buffered: int = 10_000

    def __post_init__(self) -> None:
        if not 1 <= self.depth_limit <= MAX_DEPTH_LIMIT:
            raise ValueError(f"depth_limit must be 1..{MAX_DEPTH_LIMIT}")
        if self.top_levels < 1 or self.max_buffered < 1:
            raise ValueError("top_levels and max_buffered must be at least 1")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("backoff needs 0 < initial <= max")
        if not 0 <= self.backoff_jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")
        if not self.fetch_timeout_s > 0:
            raise ValueError("fetch_timeout_s must be positive")


class _Book:
    """One instrument's book, its fetch task and pre-bound metric children."""

    __slots__ = ("attempts", "book", "buffered", "fetch", "instrument", "last_ts", "published",
                 "snapshots", "symbol", "synced_at", "synced_gauge")

    def __init__(self, instrument: Instrument, config: BookSyncConfig,
                 metrics: BookMetrics) -> None:
        self.instrument = instrument
        self.symbol = binance_symbol(instrument.id)
        self.book = LocalOrderBook(instrument, config.max_buffered)
        self.fetch: asyncio.Task[None] | None = None
        self.attempts = 0  # fetches since the book last stayed synchronised for a while
        self.synced_at = float("-inf")  # event-loop time of the last synchronisation
        self.last_ts = 0
        # The last top published: (bids, asks), or None when nothing synced was published.
        self.published: tuple[tuple[Level, ...], tuple[Level, ...]] | None = None
        self.snapshots = {o: metrics.snapshots.labels(self.symbol, o.value)
                          for o in SnapshotOutcome}
        self.buffered = metrics.buffered.labels(self.symbol)
        self.synced_gauge = metrics.synced.labels(self.symbol)
        self.buffered.set(0)
        self.synced_gauge.set(0)


class _SyncedView(Mapping[InstrumentId, bool]):
    """A live, read-only ``instrument id -> synchronised`` view."""

    def __init__(self, books: Mapping[InstrumentId, _Book]) -> None:
        self._books = books

    def __getitem__(self, key: InstrumentId) -> bool:
        return self._books[key].book.synced

    def __iter__(self) -> Iterator[InstrumentId]:
        return iter(self._books)

    def __len__(self) -> int:
        return len(self._books)


class OrderBookSync:
    """Keep the local books of ``instruments`` synchronised; feed it every ``DepthDiff``.

    ``on_top`` (optional) is called, synchronously, whenever a book's best ``top_levels``
    change, and once with ``synced=False`` when a published book is discarded; it must be
    quick and must not raise (hand the top to a queue, e.g. ``LatestTops``).
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        source: SnapshotSource,
        *,
        config: BookSyncConfig | None = None,
        metrics: BookMetrics | None = None,
        on_top: Callable[[TopOfBook], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config or BookSyncConfig()
        self.metrics = metrics or default_book_metrics()
        self._source = source
        self._on_top = on_top
        self._rng = rng or random.Random()
        self._books = {i.id: _Book(i, self.config, self.metrics) for i in instruments}
        self._synced = _SyncedView(self._books)
        self._closed = False

    @property
    def synced(self) -> Mapping[InstrumentId, bool]:
        """Return a live view of which books are synchronised."""
        return self._synced

    def book(self, instrument_id: InstrumentId) -> LocalOrderBook:
        """Return the local book of ``instrument_id`` (read it only while synchronised)."""
        return self._books[instrument_id].book

    async def on_diff(self, diff: DepthDiff) -> BookStatus:
        """Apply, drop or buffer one diff; start a snapshot fetch when the book needs one."""
        state = self._books.get(diff.instrument_id)
        if state is None:
            raise LookupError(f"no book is kept for {diff.instrument_id}")
        inst = state.instrument
        if (diff.price_precision, diff.size_precision) != (inst.price_precision,
                                                             inst.size_precision):
            # Raw ints at another scale would corrupt the book silently.
            raise ValueError(f"diff precision differs from {inst.id}'s")
        state.last_ts = diff.ts_event
        status = state.book.on_diff(diff)
        if status is BookStatus.APPLIED:
            self._publish_if_changed(state, diff)
        elif status is BookStatus.RESYNC:
            # on_diff only says RESYNC for a book that stood on a snapshot: the chain broke
            # (a lost, reordered or corrupt frame, a reconnect) or the book crossed.
            self.metrics.resyncs.labels(state.symbol).inc()
            log.warning("%s order book discarded at diff %d..%d; resynchronising",
                        state.symbol, diff.first_update_id, diff.final_update_id)
            state.synced_gauge.set(0)
            self._publish_unsynced(state)
        if not state.book.synced:
            self._ensure_fetch(state)
        state.buffered.set(state.book.buffered)
        return status

    async def run(self, events: AsyncIterable[object]) -> None:
        """Feed every ``DepthDiff`` of ``events`` (a market feed) until it ends."""
        async for event in events:
            if isinstance(event, DepthDiff):
                await self.on_diff(event)

    async def aclose(self) -> None:
        """Cancel the snapshot fetches in flight; no new ones start afterwards."""
        self._closed = True
        tasks = [s.fetch for s in self._books.values() if s.fetch is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- snapshots ------------------------------------------------------------------------
    def _ensure_fetch(self, state: _Book) -> None:
        if self._closed or (state.fetch is not None and not state.fetch.done()):
            return  # one fetch per instrument: it picks up whatever is buffered when it lands
        state.fetch = asyncio.get_running_loop().create_task(
            self._fetch_until_synced(state), name=f"book-snapshot-{state.symbol}")

    async def _fetch_until_synced(self, state: _Book) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - state.synced_at > self.config.backoff_max_s:
            state.attempts = 0
        # Otherwise the book broke soon after its last sync: keep backing off, so a chain that
        # keeps breaking cannot turn into a stream of heavy snapshot requests.
        while not state.book.synced:
            if state.attempts:
                await asyncio.sleep(self._backoff(state.attempts - 1))
            state.attempts += 1
            outcome = await self._fetch_once(state)
            state.snapshots[outcome].inc()
            state.buffered.set(state.book.buffered)
        state.synced_at = loop.time()
        state.synced_gauge.set(1)
        self._publish_if_changed(state, None)
        log.info("%s order book synchronised at update %s", state.symbol,
                 state.book.last_update_id)

    async def _fetch_once(self, state: _Book) -> SnapshotOutcome:
        try:
            async with asyncio.timeout(self.config.fetch_timeout_s):
                snapshot = await self._source.fetch_snapshot(state.instrument,
                                                             self.config.depth_limit)
        except SnapshotRejected as exc:
            log.warning("%s depth snapshot rejected: %s", state.symbol, exc)
            return SnapshotOutcome.REJECTED
        except Exception as exc:  # a failing venue must not end the sync: retry with backoff
            log.warning("%s depth snapshot fetch failed: %r", state.symbol, exc)
            return SnapshotOutcome.FAILED
        inst = state.instrument
        if (snapshot.instrument_id, snapshot.price_precision, snapshot.size_precision) != (
                inst.id, inst.price_precision, inst.size_precision):
            log.warning("%s depth snapshot is for %s at another precision or instrument",
                        state.symbol, snapshot.instrument_id)
            return SnapshotOutcome.REJECTED
        if state.book.on_snapshot(snapshot) is BookStatus.APPLIED:
            return SnapshotOutcome.APPLIED
        log.info("%s depth snapshot %d does not join the buffered diffs; fetching again",
                 state.symbol, snapshot.last_update_id)
        return SnapshotOutcome.RESYNC

    def _backoff(self, attempt: int) -> float:
        config = self.config
        base = min(config.backoff_max_s, config.backoff_initial_s * 2.0 ** min(attempt, 60))
        return base * (1.0 - config.backoff_jitter * self._rng.random())

    # -- top of book ----------------------------------------------------------------------
    def _publish_if_changed(self, state: _Book, diff: DepthDiff | None) -> None:
        if self._on_top is None:
            return
        n, last = self.config.top_levels, state.published
        if diff is not None and last is not None and not _touches_top(diff, last, n):
            return
        book = state.book
        top = (tuple(book.bids(n)), tuple(book.asks(n)))
        if top == last:
            return
        state.published = top
        inst = state.instrument
        self._on_top(TopOfBook(inst.id, True, book.last_update_id, state.last_ts, top[0],
                               top[1], inst.price_precision, inst.size_precision))

    def _publish_unsynced(self, state: _Book) -> None:
        if self._on_top is None or state.published is None:
            return
        state.published = None
        inst = state.instrument
        self._on_top(TopOfBook(inst.id, False, None, state.last_ts, (), (),
                               inst.price_precision, inst.size_precision))


def _touches_top(diff: DepthDiff, top: tuple[tuple[Level, ...], tuple[Level, ...]],
                 n: int) -> bool:
    # A full top-n side cannot change through a level strictly worse than its n-th price:
    # the common case of a diff deep in the book skips sorting the whole side.
    bids, asks = top
    if len(bids) < n or len(asks) < n:
        return True
    bid_floor, ask_ceiling = bids[-1][0], asks[-1][0]
    return (any(price >= bid_floor for price, _ in diff.bids)
            or any(price <= ask_ceiling for price, _ in diff.asks))
