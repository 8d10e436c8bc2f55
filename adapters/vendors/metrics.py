"""Prometheus metrics of the vendor clients (names fixed here for every later issue).

Labels are bounded: ``vendor`` is one of the client names (``coingecko``, ``coinmarketcap``,
``cryptopanic``, ``glassnode`` or a premium feed's own), ``outcome`` and ``reason`` come from
the closed sets below. Every HTTP attempt is counted once in ``lockgate_vendor_requests_total``
and timed in ``lockgate_vendor_request_duration_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram


class Outcome(StrEnum):
    """How one HTTP attempt ended."""

    OK = "ok"                            # 2xx
    RATE_LIMITED = "rate_limited"        # 429
    SERVER_ERROR = "server_error"        # 5xx
    CLIENT_ERROR = "client_error"        # other 4xx (never retried)
    TRANSPORT_ERROR = "transport_error"  # connection refused or cut, timeout


class Rejection(StrEnum):
    """Why a whole payload was refused."""

    MALFORMED_JSON = "malformed_json"    # not JSON at all
    INVALID_PAYLOAD = "invalid_payload"  # JSON, but a field is missing or of the wrong type
    VENDOR_ERROR = "vendor_error"        # the vendor's own error object in a 2xx answer


@dataclass(frozen=True, slots=True)
class VendorMetrics:
    """The vendor clients' counters and histogram on one registry."""

    requests: Counter
    duration: Histogram
    retries: Counter
    throttled: Counter
    rejected_payloads: Counter
    dropped_items: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> VendorMetrics:
        """Register the metrics (once per registry; use ``default_metrics`` for the global one)."""
        return cls(
            requests=Counter("lockgate_vendor_requests_total",
                             "HTTP attempts to a vendor, by outcome", ("vendor", "outcome"),
                             registry=registry),
            duration=Histogram("lockgate_vendor_request_duration_seconds",
                               "Time from sending a vendor request to its full answer",
                               ("vendor",), registry=registry,
                               buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)),
            retries=Counter("lockgate_vendor_retries_total",
                            "Attempts repeated after a 429, a 5xx or a network error",
                            ("vendor",), registry=registry),
            throttled=Counter("lockgate_vendor_throttled_total",
                              "Requests the client-side rate limit made wait for a token",
                              ("vendor",), registry=registry),
            rejected_payloads=Counter("lockgate_vendor_rejected_payloads_total",
                                      "Whole vendor answers refused, by reason",
                                      ("vendor", "reason"), registry=registry),
            dropped_items=Counter("lockgate_vendor_dropped_items_total",
                                  "Items left out of an otherwise valid answer, by reason",
                                  ("vendor", "reason"), registry=registry),
        )


_default: VendorMetrics | None = None


def default_metrics() -> VendorMetrics:
    """Return the vendor metrics on the global registry, registering them on first use."""
    global _default  # noqa: PLW0603 - one set per process registry, created lazily
    if _default is None:
        _default = VendorMetrics.create()
    return _default
