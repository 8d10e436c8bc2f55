"""Rolling 24-hour statistics per instrument from trades, in O(1) per trade.

Trades are folded into one-minute buckets; the window is the last 1,440 buckets, so memory is
bounded whatever the trade rate. Open is the first price of the oldest bucket in the window,
last the latest trade; high, low, volume, quote volume and count over the window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from domain.fixed import raw_to_text
from domain.market import Trade

BUCKET_NS = 60 * 1_000_000_000
WINDOW_BUCKETS = 24 * 60


@dataclass(slots=True)
class _Bucket:
    start_ns: int
    open: int
    high: int
    low: int
    volume: int = 0
    quote_volume: int = 0
    count: int = 0


@dataclass(slots=True)
class RollingStats:
    """24-hour statistics of one instrument (fixed-point at the trades' precision)."""

    price_precision: int
    size_precision: int
    buckets: deque[_Bucket] = field(default_factory=deque)
    last: int = 0
    last_ts: int = 0

    def add(self, trade: Trade) -> None:
        """Fold one trade in; buckets older than 24 hours leave the window."""
        start = trade.ts_event - trade.ts_event % BUCKET_NS
        buckets = self.buckets
        if not buckets or buckets[-1].start_ns < start:
            buckets.append(_Bucket(start, trade.price, trade.price, trade.price))
        bucket = buckets[-1] if buckets[-1].start_ns <= start else self._bucket_for(start)
        bucket.high = max(bucket.high, trade.price)
        bucket.low = min(bucket.low, trade.price)
        bucket.volume += trade.size
        bucket.quote_volume += trade.size * trade.price
        bucket.count += 1
        if trade.ts_event >= self.last_ts:
            self.last, self.last_ts = trade.price, trade.ts_event
        horizon = buckets[-1].start_ns - (WINDOW_BUCKETS - 1) * BUCKET_NS
        while buckets[0].start_ns < horizon:
            buckets.popleft()

    def _bucket_for(self, start: int) -> _Bucket:
        # A late trade within the window lands in its own minute (rare: trades arrive in order).
        for bucket in reversed(self.buckets):
            if bucket.start_ns == start:
                return bucket
        return self.buckets[0]

    def snapshot(self) -> dict[str, Any]:
        """Return the window's figures as decimal strings (the hot-state value)."""
        pp, sp = self.price_precision, self.size_precision
        buckets = self.buckets
        return {
            "open": raw_to_text(buckets[0].open, pp),
            "high": raw_to_text(max(b.high for b in buckets), pp),
            "low": raw_to_text(min(b.low for b in buckets), pp),
            "last": raw_to_text(self.last, pp),
            "volume": raw_to_text(sum(b.volume for b in buckets), sp),
            "quote_volume": raw_to_text(sum(b.quote_volume for b in buckets), pp + sp),
            "count": sum(b.count for b in buckets),
            "window_start_ns": buckets[0].start_ns,
            "ts_event": self.last_ts,
        }
