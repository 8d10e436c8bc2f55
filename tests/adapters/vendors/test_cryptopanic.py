"""CryptoPanic client against the fake CryptoPanic over real sockets: pages, faults, drops."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from adapters.secrets import EnvSecretProvider
from adapters.vendors import (
    CryptoPanicClient,
    CryptoPanicConfig,
    NewsSource,
    VendorPayloadError,
)
from adapters.vendors.fake import RunningFakes
from adapters.vendors.fake.market import MarketData
from adapters.vendors.http import Runtime
from adapters.vendors.metrics import VendorMetrics
from tests.adapters.vendors.conftest import AS_OF, RecordingSleep, fast, sample


def client(fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
           secrets: EnvSecretProvider) -> CryptoPanicClient:
    config = CryptoPanicConfig(http=fast(fakes.base_url("cryptopanic")))
    return CryptoPanicClient.from_secrets(config, secrets=secrets, metrics=metrics,
                                          runtime=runtime)


async def test_posts_follow_next_page_by_page_newest_first(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    expected = MarketData().posts(AS_OF, 45)

    async with client(fakes, metrics, runtime, demo_secrets) as panic:
        fetched = await panic.posts()

    assert isinstance(panic, NewsSource)
    assert [p.post_id for p in fetched.items] == [str(p.post_id) for p in expected]
    first, source = fetched.items[0], expected[0]
    assert (first.title, first.source, first.published_at, first.currencies,
            first.votes_positive, first.votes_negative) == (
        source.title, source.domain, source.published_at,
        tuple(a.ticker for a in source.currencies), source.positive, source.negative)
    assert first.url.startswith(f"https://cryptopanic.com/news/{source.post_id}/")
    seen = fakes["cryptopanic"].requests
    assert [s.params.get("page") for s in seen] == [None, "2", "3"]
    assert all(s.key_sent and s.params["auth_token"] == "<key>" for s in seen)
    assert all((s.params["public"], s.params["kind"]) == ("true", "news") for s in seen)


async def test_max_pages_bounds_the_walk(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    async with client(fakes, metrics, runtime, demo_secrets) as panic:
        fetched = await panic.posts(max_pages=2)

    assert len(fetched.items) == 40
    assert len(fakes["cryptopanic"].requests) == 2


async def test_currencies_filter_the_posts(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    async with client(fakes, metrics, runtime, demo_secrets) as panic:
        fetched = await panic.posts(["btc", "ETH"])

    assert fetched.items
    assert all({"BTC", "ETH"} & set(p.currencies) for p in fetched.items)
    assert fakes["cryptopanic"].requests[0].params["currencies"] == "BTC,ETH"


async def test_a_server_error_mid_walk_is_retried_and_nothing_is_lost(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, sleeps: RecordingSleep,
    demo_secrets: EnvSecretProvider,
) -> None:
    async with client(fakes, metrics, runtime, demo_secrets) as panic:
        first_page = await panic.posts(max_pages=1)
        fakes["cryptopanic"].requests.clear()
        fakes["cryptopanic"].faults.server_error(1, status=502)
        # The first request of this walk (page 1) takes the fault.
        fetched = await panic.posts()

    assert len(fetched.items) == 45
    assert fetched.items[:20] == tuple(
        p for p in fetched.items if p.post_id in {q.post_id for q in first_page.items})
    assert [s.fault for s in fakes["cryptopanic"].requests] == ["server_error", None, None, None]
    assert len(sleeps.delays) == 1


async def test_a_mistyped_post_is_dropped_and_the_rest_kept(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider, registry: CollectorRegistry,
) -> None:
    fakes["cryptopanic"].faults.wrong_type()
    fakes["cryptopanic"].faults.null_value()

    async with client(fakes, metrics, runtime, demo_secrets) as panic:
        fetched = await panic.posts()

    assert len(fetched.items) == 43
    assert [(d.where, d.reason) for d in fetched.dropped] == [
        ("page 1: $.results[0].published_at", "invalid_item"),
        ("page 2: $.results[0].title", "invalid_item")]
    assert sample(registry, "lockgate_vendor_dropped_items_total", vendor="cryptopanic",
                  reason="invalid_item") == 2


async def test_a_malformed_page_refuses_the_walk(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider, registry: CollectorRegistry,
) -> None:
    async with client(fakes, metrics, runtime, demo_secrets) as panic:
        fakes["cryptopanic"].faults.malformed()
        with pytest.raises(VendorPayloadError, match="cryptopanic: malformed_json"):
            await panic.posts()

    assert sample(registry, "lockgate_vendor_rejected_payloads_total", vendor="cryptopanic",
                  reason="malformed_json") == 1
