"""Feed metric names follow Prometheus conventions and live on the registry they are given."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY, CollectorRegistry

from adapters.exchanges.binance.errors import PARSE_ERRORS, RejectReason
from adapters.exchanges.binance.metrics import FeedMetrics, ReconnectReason, default_metrics
from adapters.exchanges.binance.parse import IgnoreReason

_NAME = re.compile(r"^lockgate_feed_[a-z_]+$")


def test_names_follow_prometheus_conventions(registry: CollectorRegistry) -> None:
    FeedMetrics.create(registry)
    families = {f.name: f for f in registry.collect()}
    assert families
    for name, family in families.items():
        assert _NAME.match(name), name
        assert family.documentation
        if family.type == "counter":
            # The client adds "_total" to counter samples; the family name must not repeat it.
            assert {s.name for s in family.samples} <= {f"{name}_total", f"{name}_created"}
        else:
            assert not name.endswith("_total")
    assert "lockgate_feed_messages" in families
    assert families["lockgate_feed_connected"].type == "gauge"


def test_label_values_come_from_closed_sets() -> None:
    # Labels must stay bounded: reasons are enumerations, streams are the subscribed names.
    assert len(RejectReason) <= 16 and len(IgnoreReason) <= 4 and len(ReconnectReason) <= 4
    assert set(RejectReason) > PARSE_ERRORS
    for values in (RejectReason, IgnoreReason, ReconnectReason):
        assert all(re.fullmatch(r"[a-z_]+", v.value) for v in values)


def test_each_registry_gets_its_own_counters() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    FeedMetrics.create(first).messages.labels("btcusdt@trade").inc(3)
    FeedMetrics.create(second)
    assert first.get_sample_value("lockgate_feed_messages_total",
                                  {"stream": "btcusdt@trade"}) == 3
    assert second.get_sample_value("lockgate_feed_messages_total",
                                   {"stream": "btcusdt@trade"}) is None


def test_default_metrics_register_once_on_the_global_registry() -> None:
    metrics = default_metrics()
    assert default_metrics() is metrics
    metrics.reconnects.labels(ReconnectReason.MAX_AGE.value).inc(0)
    assert REGISTRY.get_sample_value("lockgate_feed_reconnects_total",
                                     {"reason": "max_age"}) is not None
