"""Prometheus metrics of the Binance market-data feed.

Every received frame is counted once in ``lockgate_feed_messages_total`` and ends in exactly one
of: an emitted event (``lockgate_feed_events_total{source="live"}``), ``..._ignored_total``,
``..._parse_errors_total`` (could not be decoded into a subscribed stream's payload) or
``..._rejected_total`` (decoded, but invalid or out of sequence). Labels are bounded: ``stream``
is a subscribed stream name or ``unknown``; ``reason`` comes from closed enumerations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

UNKNOWN_STREAM = "unknown"


class ReconnectReason(StrEnum):
    """Why the feed opened a new connection."""

    CLOSED = "closed"                    # the server or the network ended the connection
    CONNECT_FAILED = "connect_failed"    # the handshake failed or timed out
    MAX_AGE = "max_age"                  # planned: before Binance's 24 h cut-off
    SERVER_SHUTDOWN = "server_shutdown"  # Binance announced a shutdown


@dataclass(frozen=True, slots=True)
class FeedMetrics:
    """The feed's counters and gauges on one registry."""

    messages: Counter
    events: Counter
    ignored: Counter
    parse_errors: Counter
    rejected: Counter
    reconnects: Counter
    gaps_found: Counter
    gaps_filled: Counter
    backfilled: Counter
    missing: Counter
    backfill_failures: Counter
    connected: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> FeedMetrics:
        """Register the metrics (once per registry; use ``default_metrics`` for the global one)."""
        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        return cls(
            messages=counter("lockgate_feed_messages_total",
                             "WebSocket frames received, by stream", ("stream",)),
            events=counter("lockgate_feed_events_total",
                           "Validated events emitted, by stream and source (live, backfill)",
                           ("stream", "source")),
            ignored=counter("lockgate_feed_ignored_total",
                            "Well-formed frames carrying no event (open klines, control)",
                            ("stream", "reason")),
            parse_errors=counter("lockgate_feed_parse_errors_total",
                                 "Frames that could not be decoded into a subscribed stream",
                                 ("stream", "reason")),
            rejected=counter("lockgate_feed_rejected_total",
                             "Decoded messages refused as invalid or out of sequence",
                             ("stream", "reason")),
            reconnects=counter("lockgate_feed_reconnects_total",
                               "New connections after the first, by reason", ("reason",)),
            gaps_found=counter("lockgate_feed_gaps_found_total",
                               "Jumps in trade ids or kline open times", ("stream",)),
            gaps_filled=counter("lockgate_feed_gaps_filled_total",
                                "Gaps a backfill recovered completely", ("stream",)),
            backfilled=counter("lockgate_feed_backfilled_items_total",
                               "Trades or bars recovered by backfill", ("stream",)),
            missing=counter("lockgate_feed_missing_items_total",
                            "Trades or bars still missing after backfill", ("stream",)),
            backfill_failures=counter("lockgate_feed_backfill_failures_total",
                                      "Backfill calls that raised or timed out", ("stream",)),
            connected=Gauge("lockgate_feed_connected",
                            "1 while the stream connection is open", registry=registry),
        )


_default: FeedMetrics | None = None


def default_metrics() -> FeedMetrics:
    """Return the feed metrics on the global registry, registering them on first use."""
    global _default  # noqa: PLW0603 - one set per process registry, created lazily
    if _default is None:
        _default = FeedMetrics.create()
    return _default
