"""Glassnode client against the fake Glassnode over real sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from adapters.secrets import EnvSecretProvider
from adapters.vendors import (
    GlassnodeClient,
    GlassnodeConfig,
    OnChainSource,
    VendorAuthError,
    VendorPayloadError,
    VendorRequestRefused,
)
from adapters.vendors.fake import RunningFakes
from adapters.vendors.fake.market import BY_TICKER, MarketData
from adapters.vendors.http import Runtime
from adapters.vendors.metrics import VendorMetrics
from domain.errors import InvalidValue
from tests.adapters.vendors.conftest import AS_OF, RecordingSleep, fast, sample


def client(fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
           secrets: EnvSecretProvider) -> GlassnodeClient:
    config = GlassnodeConfig(http=fast(fakes.base_url("glassnode")))
    return GlassnodeClient.from_secrets(config, secrets=secrets, metrics=metrics,
                                        runtime=runtime)


async def test_a_daily_series_between_since_and_until(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    since, until = datetime(2018, 5, 20, tzinfo=UTC), datetime(2018, 5, 29, tzinfo=UTC)
    market = MarketData()

    async with client(fakes, metrics, runtime, demo_secrets) as glassnode:
        fetched = await glassnode.series("market/price_usd_close", "btc", since=since,
                                         until=until)

    assert isinstance(glassnode, OnChainSource)
    days = [since + timedelta(days=n) for n in range(10)]
    assert [p.observed_at for p in fetched.items] == days
    assert [p.value for p in fetched.items] == [
        market.metric("market/price_usd_close", BY_TICKER["BTC"], d) for d in days]
    assert {(p.vendor, p.metric, p.asset) for p in fetched.items} == {
        ("glassnode", "market/price_usd_close", "BTC")}
    seen = fakes["glassnode"].requests[0]
    assert (seen.path, seen.key_sent) == ("/glassnode/v1/metrics/market/price_usd_close", True)
    assert (seen.params["a"], seen.params["i"], seen.params["s"], seen.params["u"]) == (
        "BTC", "24h", str(int(since.timestamp())), str(int(until.timestamp())))
    assert "api_key" not in seen.params  # the key travels in the X-Api-Key header


async def test_an_hourly_series_holds_only_finished_intervals(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    async with client(fakes, metrics, runtime, demo_secrets) as glassnode:
        fetched = await glassnode.series("indicators/sopr", "ETH", interval="1h",
                                         since=AS_OF - timedelta(hours=5))

    assert [p.observed_at for p in fetched.items] == [
        AS_OF - timedelta(hours=h) for h in range(5, 0, -1)]


async def test_a_mistyped_point_refuses_the_whole_series(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider, registry: CollectorRegistry,
) -> None:
    fakes["glassnode"].faults.wrong_type()

    async with client(fakes, metrics, runtime, demo_secrets) as glassnode:
        with pytest.raises(VendorPayloadError,
                           match=r"glassnode: invalid_payload at `\$\[0\]\.v`") as caught:
            await glassnode.series("addresses/active_count", "BTC")

    assert caught.value.field == "$[0].v"
    assert sample(registry, "lockgate_vendor_rejected_payloads_total", vendor="glassnode",
                  reason="invalid_payload") == 1


async def test_a_null_point_is_dropped_and_the_rest_kept(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider, registry: CollectorRegistry,
) -> None:
    fakes["glassnode"].faults.null_value()

    async with client(fakes, metrics, runtime, demo_secrets) as glassnode:
        fetched = await glassnode.series("transactions/count", "XRP")

    assert len(fetched.items) == 28
    assert [(d.where, d.reason) for d in fetched.dropped] == [("$[0]", "null_value")]
    assert sample(registry, "lockgate_vendor_dropped_items_total", vendor="glassnode",
                  reason="null_value") == 1


async def test_a_wrong_key_is_not_retried(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, sleeps: RecordingSleep,
) -> None:
    wrong = EnvSecretProvider(environ={"LOCKGATE_SECRET_GLASSNODE_API_KEY": "nope"})

    async with client(fakes, metrics, runtime, wrong) as glassnode:
        with pytest.raises(VendorAuthError, match="Unauthorized - Invalid or missing API key"):
            await glassnode.series("indicators/sopr", "BTC")

    assert len(fakes["glassnode"].requests) == 1
    assert sleeps.delays == []


async def test_a_429_is_retried_after_retry_after(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, sleeps: RecordingSleep,
    demo_secrets: EnvSecretProvider,
) -> None:
    fakes["glassnode"].faults.rate_limit(1, retry_after="2")

    async with client(fakes, metrics, runtime, demo_secrets) as glassnode:
        fetched = await glassnode.series("indicators/sopr", "BTC")

    # The default window: the last 30 days, of which 29 have finished by 12:00 on the 30th.
    assert len(fetched.items) == 29
    assert sleeps.delays == [2.0]


async def test_an_unsupported_asset_is_refused_and_a_bad_metric_never_sent(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    async with client(fakes, metrics, runtime, demo_secrets) as glassnode:
        with pytest.raises(VendorRequestRefused, match="unsupported asset"):
            await glassnode.series("indicators/sopr", "DOGE")
        with pytest.raises(InvalidValue, match="category/name"):
            await glassnode.series("../../admin", "BTC")

    assert len(fakes["glassnode"].requests) == 1
