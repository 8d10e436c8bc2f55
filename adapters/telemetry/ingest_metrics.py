"""Prometheus metrics of trade ingestion (names fixed here for every later issue)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True, slots=True)
class IngestMetrics:
    """The ingestion path's counters, gauges and histograms on one registry."""

    trades: Counter
    batch_size: Histogram
    flush_failures: Counter
    buffered: Gauge
    lag_seconds: Gauge
    publish_failures: Counter
    bus_dropped: Counter
    stream_length: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> IngestMetrics:
        """Register the metrics (once per registry)."""
        return cls(
            trades=Counter("lockgate_ingest_trades_total",
                           "Trades handled by ingestion, by outcome (stored, duplicate, shed)",
                           ["outcome"], registry=registry),
            batch_size=Histogram("lockgate_ingest_batch_size_trades",
                                 "Trades per batch written to PostgreSQL",
                                 buckets=(1, 10, 100, 1_000, 5_000, 10_000, 50_000),
                                 registry=registry),
            flush_failures=Counter("lockgate_ingest_flush_failures_total",
                                   "Batch writes that failed and will be retried",
                                   registry=registry),
            buffered=Gauge("lockgate_ingest_buffered_trades",
                           "Trades accepted but not yet stored", registry=registry),
            lag_seconds=Gauge("lockgate_ingest_lag_seconds",
                              "Age of the oldest trade not yet stored, by its exchange time",
                              registry=registry),
            publish_failures=Counter("lockgate_ingest_publish_failures_total",
                                     "Bus or hot-state writes that failed and will be retried",
                                     registry=registry),
            bus_dropped=Counter("lockgate_ingest_bus_dropped_total",
                                "Events not published because the bus stayed unreachable, by"
                                " kind (trade, quote); trades are still stored",
                                ["kind"], registry=registry),
            stream_length=Gauge("lockgate_bus_stream_length_messages",
                                "Messages a bus stream holds, sampled by the ingest process",
                                ["stream"], registry=registry),
        )
