"""The ingest stage: market feed -> PostgreSQL (trades), the bus and hot state.

Trades go to the ``TradeIngestor`` (batched COPY, retried, never lost) and, in small batches,
to the ``MarketPublisher``; best bid/ask goes to the publisher; depth diffs go to the
``OrderBookSync`` (whose tops ``publish_books`` hands to hot state). Data the feed could not recover
after a gap (``MissingData``) is logged and counted, never hidden.

While the bus cannot be reached (``BusUnavailable``), trades wait for it (up to
``max_unpublished``, beyond which the oldest are dropped from the bus side only: PostgreSQL
still gets them) and quotes are skipped, since a later quote supersedes them. Both are counted.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterable

from adapters.exchanges.binance.backfill import MissingData
from adapters.exchanges.binance.book_sync import OrderBookSync
from adapters.exchanges.binance.book_top import TopOfBook
from adapters.exchanges.binance.orderbook import DepthDiff
from adapters.telemetry.ingest_metrics import IngestMetrics
from domain.market import Quote, Trade
from domain.messaging import BusUnavailable
from live.ingest import TradeIngestor
from live.publish import MarketPublisher
from live.rolling_stats import RollingStats

log = logging.getLogger(__name__)


class MarketDataService:
    """Consume a feed's events until it ends (or the task is cancelled)."""

    def __init__(self, feed: AsyncIterable[object], ingestor: TradeIngestor,
                 publisher: MarketPublisher, publish_every: int = 500,
                 publish_interval_s: float = 0.1, max_unpublished: int = 200_000,
                 retry_max_s: float = 5.0, metrics: IngestMetrics | None = None,
                 books: OrderBookSync | None = None) -> None:
        self._feed = feed
        self._ingestor = ingestor
        self._publisher = publisher
        self._every = publish_every
        self._interval = publish_interval_s
        self._max_unpublished = max_unpublished
        self._retry_max_s = retry_max_s
        self._metrics = metrics
        self._books = books
        self._pending: deque[Trade] = deque()
        self._retry_at = 0.0
        self._retry_s = publish_interval_s
        self.trades = self.quotes = self.missing = 0
        self.unpublished_dropped = self.quotes_skipped = self.publish_failures = 0
        self.stats: dict[str, RollingStats] = {}

    async def run(self) -> None:
        """Route every event; flush the last trades to the bus when the feed ends."""
        last_flush = time.monotonic()
        try:
            async for event in self._feed:
                if isinstance(event, Trade):
                    self.trades += 1
                    self._ingestor.offer(event)
                    self._hold(event)
                    self._stats_of(event).add(event)
                elif isinstance(event, Quote):
                    self.quotes += 1
                    await self._publish_quote(event)
                elif isinstance(event, DepthDiff):
                    if self._books is not None:
                        await self._books.on_diff(event)
                elif isinstance(event, MissingData):
                    self.missing += 1
                    log.error("market data lost after a gap and not recovered: %s", event)
                now = time.monotonic()
                due = len(self._pending) >= self._every or now - last_flush >= self._interval
                if self._pending and due and now >= self._retry_at:
                    await self._flush()
                    last_flush = now
        finally:
            if self._pending:
                await self._flush()

    @property
    def unpublished(self) -> int:
        """Return how many trades wait for the bus."""
        return len(self._pending)

    def _hold(self, trade: Trade) -> None:
        if len(self._pending) >= self._max_unpublished:
            self._pending.popleft()
            self.unpublished_dropped += 1
            if self._metrics is not None:
                self._metrics.bus_dropped.labels("trade").inc()
            if self.unpublished_dropped == 1 or self.unpublished_dropped % 10_000 == 0:
                log.error("bus unreachable for long: %d trade(s) dropped from the bus (they are "
                          "still stored in PostgreSQL)", self.unpublished_dropped)
        self._pending.append(trade)

    async def _flush(self) -> None:
        trades = list(self._pending)
        try:
            await self._publisher.publish_trades(trades)
            for instrument in {str(trade.instrument_id) for trade in trades}:
                await self._publisher.publish_stats(instrument,
                                                    self.stats[instrument].snapshot())
        except BusUnavailable as exc:
            self._unavailable(exc)
            return
        for _ in trades:
            self._pending.popleft()
        self._retry_s = self._interval
        self._retry_at = 0.0

    async def _publish_quote(self, quote: Quote) -> None:
        if time.monotonic() < self._retry_at:
            self._skip_quote()
            return
        try:
            await self._publisher.publish_quote(quote)
        except BusUnavailable as exc:
            self._skip_quote()
            self._unavailable(exc)

    def _skip_quote(self) -> None:
        self.quotes_skipped += 1
        if self._metrics is not None:
            self._metrics.bus_dropped.labels("quote").inc()

    def _unavailable(self, exc: BusUnavailable) -> None:
        # Republishing a batch that partly reached the bus repeats those messages with their
        # envelope ids; consumers drop repeats (at-least-once).
        self.publish_failures += 1
        if self._metrics is not None:
            self._metrics.publish_failures.inc()
        log.warning("bus unavailable (%s); %d trade(s) wait, retrying in %.1f s", exc,
                    len(self._pending), self._retry_s)
        self._retry_at = time.monotonic() + self._retry_s
        self._retry_s = min(self._retry_s * 2, self._retry_max_s)

    def _stats_of(self, trade: Trade) -> RollingStats:
        key = str(trade.instrument_id)
        stats = self.stats.get(key)
        if stats is None:
            stats = self.stats[key] = RollingStats(trade.price_precision, trade.size_precision)
        return stats


async def publish_books(tops: AsyncIterable[TopOfBook], publisher: MarketPublisher) -> None:
    """Store each new top of book in hot state until ``tops`` ends; skip while the bus is away.

    ``tops`` conflates (``LatestTops``), so a book skipped during an outage is simply written
    at its next change.
    """
    async for top in tops:
        try:
            await publisher.publish_book(top)
        except BusUnavailable as exc:
            log.warning("order book of %s not published: %s", top.instrument_id, exc)
