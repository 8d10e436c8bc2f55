"""The ingest stage: market feed -> PostgreSQL (trades), the bus and hot state.

Trades go to the ``TradeIngestor`` (batched COPY, retried, never lost) and, in small batches,
to the ``MarketPublisher``; best bid/ask goes to the publisher. Data the feed could not recover
after a gap (``MissingData``) is logged and counted, never hidden.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterable

from adapters.exchanges.binance.backfill import MissingData
from domain.market import Quote, Trade
from live.ingest import TradeIngestor
from live.publish import MarketPublisher
from live.rolling_stats import RollingStats

log = logging.getLogger(__name__)


class MarketDataService:
    """Consume a feed's events until it ends (or the task is cancelled)."""

    def __init__(self, feed: AsyncIterable[object], ingestor: TradeIngestor,
                 publisher: MarketPublisher, publish_every: int = 500,
                 publish_interval_s: float = 0.1) -> None:
        self._feed = feed
        self._ingestor = ingestor
        self._publisher = publisher
        self._every = publish_every
        self._interval = publish_interval_s
        self.trades = self.quotes = self.missing = 0
        self.stats: dict[str, RollingStats] = {}

    async def run(self) -> None:
        """Route every event; flush the last trades to the bus when the feed ends."""
        pending: list[Trade] = []
        last_flush = time.monotonic()
        try:
            async for event in self._feed:
                if isinstance(event, Trade):
                    self.trades += 1
                    self._ingestor.offer(event)
                    pending.append(event)
                    self._stats_of(event).add(event)
                elif isinstance(event, Quote):
                    self.quotes += 1
                    await self._publisher.publish_quote(event)
                elif isinstance(event, MissingData):
                    self.missing += 1
                    log.error("market data lost after a gap and not recovered: %s", event)
                now = time.monotonic()
                if pending and (len(pending) >= self._every or now - last_flush >= self._interval):
                    await self._flush(pending)
                    pending, last_flush = [], now
        finally:
            if pending:
                await self._flush(pending)

    async def _flush(self, trades: list[Trade]) -> None:
        await self._publisher.publish_trades(trades)
        for instrument in {str(trade.instrument_id) for trade in trades}:
            await self._publisher.publish_stats(instrument, self.stats[instrument].snapshot())

    def _stats_of(self, trade: Trade) -> RollingStats:
        key = str(trade.instrument_id)
        stats = self.stats.get(key)
        if stats is None:
            stats = self.stats[key] = RollingStats(trade.price_precision, trade.size_precision)
        return stats
