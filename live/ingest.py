"""Trade ingestion: batches to PostgreSQL, flushed by size or age, never lost, memory bounded.

Producers ``offer`` trades without waiting; ``run`` writes them in batches. A failed write (the
database went away) keeps the batch and retries with backoff while new trades keep buffering.
The sink is idempotent (trades are keyed), so a retried batch that had in fact committed adds
nothing. Only if the buffer reaches ``max_buffered`` are new trades shed, and every shed trade
is counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from adapters.storage.common import StorageUnavailable
from adapters.telemetry.ingest_metrics import IngestMetrics
from domain.market import Trade

log = logging.getLogger(__name__)


class TradeSink(Protocol):
    """Where batches go (``adapters.storage.trades.TradeStore``)."""

    async def copy_trades(self, trades: Sequence[Trade]) -> int:
        """Store a batch; return how many were new; raise ``StorageUnavailable`` to retry."""
        ...


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """Batching and back-pressure settings."""

    batch_size: int = 5_000
    flush_interval_s: float = 0.5
    max_buffered: int = 1_000_000
    retry_initial_s: float = 0.1
    retry_max_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.batch_size <= self.max_buffered:
            raise ValueError("need 0 < batch_size <= max_buffered")
        if self.flush_interval_s <= 0 or self.retry_initial_s <= 0:
            raise ValueError("intervals must be positive")


class TradeIngestor:
    """Buffer trades and write them in batches until told to stop."""

    def __init__(self, sink: TradeSink, metrics: IngestMetrics,
                 config: IngestConfig | None = None) -> None:
        self._sink = sink
        self._metrics = metrics
        self.config = config or IngestConfig()
        self._buffer: deque[Trade] = deque()
        self._full = asyncio.Event()
        self._stopping = False
        self.stored = self.duplicates = self.shed = self.failures = 0

    @property
    def buffered(self) -> int:
        """Return how many trades wait to be stored."""
        return len(self._buffer)

    def offer(self, trade: Trade) -> bool:
        """Accept a trade; return False (and count it) if the buffer is full and it was shed."""
        if len(self._buffer) >= self.config.max_buffered:
            self.shed += 1
            self._metrics.trades.labels("shed").inc()
            if self.shed == 1 or self.shed % 10_000 == 0:
                log.error("ingest buffer full (%d trades): %d trade(s) shed so far",
                          len(self._buffer), self.shed)
            return False
        self._buffer.append(trade)
        if len(self._buffer) >= self.config.batch_size:
            self._full.set()
        return True

    async def run(self) -> None:
        """Write batches until ``stop`` is called and the buffer is empty."""
        delay = self.config.retry_initial_s
        while not (self._stopping and not self._buffer):
            if len(self._buffer) < self.config.batch_size and not self._stopping:
                with contextlib.suppress(TimeoutError):  # the flush interval passed
                    await asyncio.wait_for(self._full.wait(), self.config.flush_interval_s)
                self._full.clear()
            if not self._buffer:
                continue
            if await self._flush_one():
                delay = self.config.retry_initial_s
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_s)

    async def stop(self) -> None:
        """Ask ``run`` to drain the buffer and return."""
        self._stopping = True
        self._full.set()

    async def _flush_one(self) -> bool:
        batch = list(islice(self._buffer, self.config.batch_size))
        self._observe_lag(batch[0])
        try:
            new = await self._sink.copy_trades(batch)
        except StorageUnavailable as exc:
            return self._failed(exc)
        for _ in range(len(batch)):
            self._buffer.popleft()
        self.stored += new
        self.duplicates += len(batch) - new
        self._metrics.trades.labels("stored").inc(new)
        self._metrics.trades.labels("duplicate").inc(len(batch) - new)
        self._metrics.batch_size.observe(len(batch))
        self._metrics.buffered.set(len(self._buffer))
        return True

    def _failed(self, exc: BaseException) -> bool:
        self.failures += 1
        self._metrics.flush_failures.inc()
        self._metrics.buffered.set(len(self._buffer))
        log.warning("trade batch not stored (%s: %s); keeping %d trades and retrying",
                    type(exc).__name__, exc, len(self._buffer))
        return False

    def _observe_lag(self, oldest: Trade) -> None:
        self._metrics.lag_seconds.set(max(0.0, time.time() - oldest.ts_event / 1e9))

