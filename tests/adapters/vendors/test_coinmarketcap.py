"""CoinMarketCap client against the fake CoinMarketCap over real sockets."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from adapters.secrets import EnvSecretProvider, MissingSecret
from adapters.vendors import (
    CoinMarketCapClient,
    CoinMarketCapConfig,
    VendorAuthError,
    VendorPayloadError,
    VendorRequestRefused,
)
from adapters.vendors.fake import RunningFakes
from adapters.vendors.fake.market import MarketData
from adapters.vendors.http import Runtime
from adapters.vendors.metrics import VendorMetrics
from tests.adapters.vendors.conftest import AS_OF, RecordingSleep, fast, sample


def client(fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
           secrets: EnvSecretProvider, **http: object) -> CoinMarketCapClient:
    config = CoinMarketCapConfig(http=fast(fakes.base_url("coinmarketcap"), **http))
    return CoinMarketCapClient.from_secrets(config, secrets=secrets, metrics=metrics,
                                            runtime=runtime)


async def test_quotes_give_price_cap_volume_and_cmc_rank_per_symbol(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    expected = MarketData().quotes(AS_OF, "USD")

    async with client(fakes, metrics, runtime, demo_secrets) as cmc:
        fetched = await cmc.prices(["btc", "ETH", "NEO"])

    assert {p.asset: (p.price, p.market_cap, p.volume_24h, p.market_cap_rank)
            for p in fetched.items} == {
        t: (expected[t].price, expected[t].market_cap, expected[t].volume_24h, expected[t].rank)
        for t in ("BTC", "ETH", "NEO")}
    assert {(p.vendor, p.vs_currency, p.observed_at) for p in fetched.items} == {
        ("coinmarketcap", "USD", AS_OF)}
    seen = fakes["coinmarketcap"].requests
    assert [(s.params["symbol"], s.params["convert"], s.key_sent) for s in seen] == [
        ("BTC,ETH,NEO", "USD", True)]


def test_the_key_is_required_and_its_absence_names_the_secret() -> None:
    with pytest.raises(MissingSecret, match="'coinmarketcap_api_key' not found"):
        CoinMarketCapClient.from_secrets(secrets=EnvSecretProvider(environ={}))


async def test_a_wrong_key_gets_the_vendor_error_and_no_retry(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, sleeps: RecordingSleep,
) -> None:
    wrong = EnvSecretProvider(environ={"LOCKGATE_SECRET_COINMARKETCAP_API_KEY": "nope"})

    async with client(fakes, metrics, runtime, wrong) as cmc:
        with pytest.raises(VendorAuthError, match=r"HTTP 401 .*1001.*This API Key is invalid"):
            await cmc.prices(["BTC"])

    assert len(fakes["coinmarketcap"].requests) == 1
    assert sleeps.delays == []


async def test_a_bad_request_is_refused_without_retry(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    async with client(fakes, metrics, runtime, demo_secrets) as cmc:
        with pytest.raises(VendorRequestRefused,
                           match=r"HTTP 400 .*Invalid value for .*symbol.*NOPE") as e:
            await cmc.prices(["BTC", "NOPE"])

    assert e.value.status == 400
    assert len(fakes["coinmarketcap"].requests) == 1


async def test_a_rate_limit_answer_is_retried_after_the_wait_asked_for(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, sleeps: RecordingSleep,
    demo_secrets: EnvSecretProvider, registry: CollectorRegistry,
) -> None:
    fakes["coinmarketcap"].faults.rate_limit(2, retry_after="3")

    async with client(fakes, metrics, runtime, demo_secrets) as cmc:
        fetched = await cmc.prices(["BTC"])

    assert len(fetched.items) == 1
    assert sleeps.delays == [3.0, 3.0]
    assert sample(registry, "lockgate_vendor_requests_total", vendor="coinmarketcap",
                  outcome="rate_limited") == 2


async def test_a_mistyped_coin_is_dropped_and_the_other_kept(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider, registry: CollectorRegistry,
) -> None:
    fakes["coinmarketcap"].faults.wrong_type()

    async with client(fakes, metrics, runtime, demo_secrets) as cmc:
        fetched = await cmc.prices(["BTC", "ETH"])

    assert [p.asset for p in fetched.items] == ["ETH"]
    assert [(d.where, d.reason) for d in fetched.dropped] == [
        ("$.data.BTC.quote[...].price", "invalid_item")]  # msgspec writes a map's key as [...]
    assert sample(registry, "lockgate_vendor_dropped_items_total", vendor="coinmarketcap",
                  reason="invalid_item") == 1


async def test_a_wrong_envelope_refuses_the_whole_answer(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider, registry: CollectorRegistry,
) -> None:
    fakes["coinmarketcap"].faults.wrong_envelope()

    async with client(fakes, metrics, runtime, demo_secrets) as cmc:
        with pytest.raises(VendorPayloadError, match=r"coinmarketcap: invalid_payload at `\$`"):
            await cmc.prices(["BTC"])

    assert sample(registry, "lockgate_vendor_rejected_payloads_total", vendor="coinmarketcap",
                  reason="invalid_payload") == 1
