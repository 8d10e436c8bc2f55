"""CoinGecko client against the fake CoinGecko over real sockets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from adapters.secrets import EnvSecretProvider, Secret
from adapters.vendors import (
    CoinGeckoClient,
    CoinGeckoConfig,
    PriceSource,
    VendorAuthError,
    VendorPayloadError,
    VendorUnavailable,
)
from adapters.vendors.fake import RunningFakes
from adapters.vendors.fake.market import MarketData
from adapters.vendors.http import Runtime
from adapters.vendors.metrics import VendorMetrics
from tests.adapters.vendors.conftest import AS_OF, RecordingSleep, fast, sample


def client(fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
           secrets: EnvSecretProvider | None = None, **http: object) -> CoinGeckoClient:
    config = CoinGeckoConfig(http=fast(fakes.base_url("coingecko"), **http))
    return CoinGeckoClient.from_secrets(config, secrets=secrets or EnvSecretProvider(environ={}),
                                        metrics=metrics, runtime=runtime)


async def test_markets_give_price_cap_volume_and_rank_per_asset(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
    demo_secrets: EnvSecretProvider,
) -> None:
    expected = MarketData().quotes(AS_OF, "USD")
    before = datetime.now(UTC)

    async with client(fakes, metrics, runtime, demo_secrets) as gecko:
        fetched = await gecko.prices(["BTC", "eth", "XRP"], "usd")

    assert isinstance(gecko, PriceSource)
    assert [p.asset for p in fetched.items] == ["BTC", "ETH", "XRP"]
    assert fetched.dropped == ()
    for item in fetched.items:
        quote = expected[item.asset]
        assert (item.vendor, item.vs_currency) == ("coingecko", "USD")
        assert (item.price, item.market_cap, item.volume_24h, item.market_cap_rank) == (
            quote.price, quote.market_cap, quote.volume_24h, quote.rank)
        assert item.observed_at == AS_OF
        assert before <= item.available_at <= datetime.now(UTC)
    seen = fakes["coingecko"].requests
    assert [(s.path, s.params["ids"], s.params["vs_currency"], s.key_sent) for s in seen] == [
        ("/coingecko/api/v3/coins/markets", "bitcoin,ethereum,ripple", "usd", True)]


async def test_simple_price_gives_price_cap_and_volume_stamped_by_last_updated_at(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
) -> None:
    expected = MarketData().quotes(AS_OF, "EUR")

    async with client(fakes, metrics, runtime) as gecko:  # keyless: CoinGecko serves it too
        fetched = await gecko.simple_prices(["BTC", "NEO", "DOGE"], "EUR")

    # DOGE is unknown to the fake: CoinGecko leaves unknown ids out, which is not an error.
    assert {p.asset: (p.price, p.market_cap, p.volume_24h, p.market_cap_rank)
            for p in fetched.items} == {
        t: (expected[t].price, expected[t].market_cap, expected[t].volume_24h, None)
        for t in ("BTC", "NEO")}
    assert {p.observed_at for p in fetched.items} == {AS_OF}
    assert {p.vs_currency for p in fetched.items} == {"EUR"}
    assert fakes["coingecko"].requests[0].key_sent is False
    assert fakes["coingecko"].requests[0].params["include_last_updated_at"] == "true"


async def test_a_wrong_key_is_refused_once_and_not_retried(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, registry: CollectorRegistry,
    sleeps: RecordingSleep,
) -> None:
    wrong = EnvSecretProvider(environ={"LOCKGATE_SECRET_COINGECKO_API_KEY": "CG-wrong"})

    async with client(fakes, metrics, runtime, wrong) as gecko:
        with pytest.raises(VendorAuthError, match=r"coingecko: .*HTTP 401.*Invalid API Key"):
            await gecko.prices(["BTC"])

    assert len(fakes["coingecko"].requests) == 1
    assert sleeps.delays == []
    assert sample(registry, "lockgate_vendor_requests_total", vendor="coingecko",
                  outcome="client_error") == 1


async def test_server_errors_are_retried_with_growing_jittered_backoff(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, registry: CollectorRegistry,
    sleeps: RecordingSleep,
) -> None:
    fakes["coingecko"].faults.server_error(2, status=503)
    fakes["coingecko"].faults.server_error(1, status=500)

    async with client(fakes, metrics, runtime) as gecko:
        fetched = await gecko.prices(["BTC"])

    assert [p.asset for p in fetched.items] == ["BTC"]
    assert [s.fault for s in fakes["coingecko"].requests] == [
        "server_error", "server_error", "server_error", None]
    # Equal jitter on a 0.5 s base: attempt n waits between half and all of 0.5 * 2**(n-1).
    assert len(sleeps.delays) == 3
    for n, delay in enumerate(sleeps.delays, start=1):
        step = 0.5 * 2 ** (n - 1)
        assert step / 2 <= delay <= step
    assert sample(registry, "lockgate_vendor_requests_total", vendor="coingecko",
                  outcome="server_error") == 3
    assert sample(registry, "lockgate_vendor_requests_total", vendor="coingecko",
                  outcome="ok") == 1
    assert sample(registry, "lockgate_vendor_retries_total", vendor="coingecko") == 3


async def test_a_429_waits_exactly_what_retry_after_says(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, registry: CollectorRegistry,
    sleeps: RecordingSleep,
) -> None:
    fakes["coingecko"].faults.rate_limit(1, retry_after="7")

    async with client(fakes, metrics, runtime) as gecko:
        fetched = await gecko.prices(["ETH"])

    assert [p.asset for p in fetched.items] == ["ETH"]
    assert sleeps.delays == [7.0]
    assert sample(registry, "lockgate_vendor_requests_total", vendor="coingecko",
                  outcome="rate_limited") == 1


async def test_a_retry_after_beyond_the_allowed_wait_gives_up_and_says_when_to_come_back(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, sleeps: RecordingSleep,
) -> None:
    fakes["coingecko"].faults.rate_limit(1, retry_after="600")

    async with client(fakes, metrics, runtime, max_retry_after_s=60) as gecko:
        with pytest.raises(VendorUnavailable, match="exceeded the Rate Limit") as caught:
            await gecko.prices(["ETH"])

    assert caught.value.retry_after == 600
    assert len(fakes["coingecko"].requests) == 1
    assert sleeps.delays == []


async def test_retries_stop_after_max_attempts(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime,
) -> None:
    fakes["coingecko"].faults.server_error(10)

    async with client(fakes, metrics, runtime, max_attempts=3) as gecko:
        with pytest.raises(VendorUnavailable, match=r"failed after 3 attempts; last: HTTP 503"):
            await gecko.prices(["BTC"])

    assert len(fakes["coingecko"].requests) == 3


async def test_a_timeout_is_retried(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, registry: CollectorRegistry,
) -> None:
    fakes["coingecko"].faults.stall(5.0)

    async with client(fakes, metrics, runtime, timeout_s=0.2) as gecko:
        fetched = await gecko.prices(["BTC"])

    assert len(fetched.items) == 1
    assert sample(registry, "lockgate_vendor_requests_total", vendor="coingecko",
                  outcome="transport_error") == 1


async def test_malformed_json_is_refused_counted_and_not_retried(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, registry: CollectorRegistry,
) -> None:
    fakes["coingecko"].faults.malformed()

    async with client(fakes, metrics, runtime) as gecko:
        with pytest.raises(VendorPayloadError, match=r"coingecko: malformed_json at `\$`") as e:
            await gecko.simple_prices(["BTC"])

    assert e.value.reason == "malformed_json"
    assert len(fakes["coingecko"].requests) == 1
    assert sample(registry, "lockgate_vendor_rejected_payloads_total", vendor="coingecko",
                  reason="malformed_json") == 1


async def test_a_wrong_envelope_is_refused_naming_the_field(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, registry: CollectorRegistry,
) -> None:
    fakes["coingecko"].faults.wrong_envelope()

    async with client(fakes, metrics, runtime) as gecko:
        with pytest.raises(VendorPayloadError,
                           match=r"coingecko: invalid_payload at `\$`: Expected `array`"):
            await gecko.prices(["BTC"])

    assert sample(registry, "lockgate_vendor_rejected_payloads_total", vendor="coingecko",
                  reason="invalid_payload") == 1


async def test_a_mistyped_coin_is_dropped_and_counted_and_the_others_kept(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, registry: CollectorRegistry,
) -> None:
    fakes["coingecko"].faults.wrong_type()
    fakes["coingecko"].faults.null_value()

    async with client(fakes, metrics, runtime) as gecko:
        mistyped = await gecko.prices(["BTC", "ETH", "XLM"])
        nulled = await gecko.simple_prices(["BTC", "ETH"])

    assert [p.asset for p in mistyped.items] == ["ETH", "XLM"]
    assert [(d.where, d.reason) for d in mistyped.dropped] == [
        ("$[0].current_price", "invalid_item")]
    assert [p.asset for p in nulled.items] == ["ETH"]
    assert [(d.where, d.reason) for d in nulled.dropped] == [("$.bitcoin", "missing_value")]
    assert sample(registry, "lockgate_vendor_dropped_items_total", vendor="coingecko",
                  reason="invalid_item") == 1
    assert sample(registry, "lockgate_vendor_dropped_items_total", vendor="coingecko",
                  reason="missing_value") == 1


async def test_an_unreachable_vendor_is_retried_then_reported_unavailable(
    metrics: VendorMetrics, runtime: Runtime, registry: CollectorRegistry,
    sleeps: RecordingSleep, closed_port: int,
) -> None:
    config = CoinGeckoConfig(http=fast(f"http://127.0.0.1:{closed_port}", max_attempts=2))

    async with CoinGeckoClient(config, api_key=Secret("CG-x"), metrics=metrics,
                               runtime=runtime) as gecko:
        with pytest.raises(VendorUnavailable, match="ConnectError"):
            await gecko.prices(["BTC"])

    assert len(sleeps.delays) == 1
    assert sample(registry, "lockgate_vendor_requests_total", vendor="coingecko",
                  outcome="transport_error") == 2

