"""The shared plumbing: token bucket, rate limit over real sockets, Retry-After forms, config."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from prometheus_client import CollectorRegistry

from adapters.secrets import Secret
from adapters.vendors import GlassnodeClient, GlassnodeConfig, VendorHttpConfig
from adapters.vendors.fake import DEMO_API_KEYS, RunningFakes
from adapters.vendors.http import Runtime, TokenBucket
from adapters.vendors.metrics import VendorMetrics
from domain.errors import InvalidValue
from tests.adapters.vendors.conftest import ManualClock, RecordingSleep, fast, sample


async def test_the_bucket_lets_a_burst_through_then_spaces_requests_by_the_rate() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=4.0, burst=2, clock=clock, sleep=clock.sleep)

    waits = [await bucket.acquire() for _ in range(5)]

    assert waits == [0.0, 0.0, 0.25, 0.25, 0.25]
    assert clock.delays == [0.25, 0.25, 0.25]


async def test_the_bucket_refills_while_idle_but_never_beyond_the_burst() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=1.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await bucket.acquire()

    clock.now += 60  # a long pause earns back the burst, not 60 tokens
    waits = [await bucket.acquire() for _ in range(4)]

    assert waits == [0.0, 0.0, 0.0, 1.0]


async def test_waiters_are_served_in_arrival_order() -> None:
    clock = ManualClock()
    bucket = TokenBucket(rate=10.0, burst=1, clock=clock, sleep=clock.sleep)
    served: list[int] = []

    async def take(n: int) -> None:
        await bucket.acquire()
        served.append(n)

    await asyncio.gather(*(take(n) for n in range(6)))

    assert served == list(range(6))
    assert len(clock.delays) == 5


async def test_the_client_throttles_itself_before_the_vendor_has_to(
    fakes: RunningFakes, registry: CollectorRegistry, metrics: VendorMetrics,
) -> None:
    # The manual clock stands still while requests travel, so the count of waits is exact.
    clock = ManualClock()
    config = GlassnodeConfig(http=fast(fakes.base_url("glassnode"), rate_per_second=2.0,
                                       burst=1))
    async with GlassnodeClient(Secret(DEMO_API_KEYS["glassnode"]), config, metrics=metrics,
                               runtime=Runtime(clock=clock, sleep=clock.sleep)) as glassnode:
        for asset in ("BTC", "ETH", "XRP", "XLM", "NEO"):
            await glassnode.series("indicators/sopr", asset, since=datetime(2018, 5, 30,
                                                                           tzinfo=UTC))

    assert clock.delays == [0.5, 0.5, 0.5, 0.5]
    assert [s.params["a"] for s in fakes["glassnode"].requests] == [
        "BTC", "ETH", "XRP", "XLM", "NEO"]
    assert sample(registry, "lockgate_vendor_throttled_total", vendor="glassnode") == 4
    assert sample(registry, "lockgate_vendor_requests_total", vendor="glassnode",
                  outcome="ok") == 5


async def test_on_the_real_clock_the_vendor_sees_requests_spaced_at_least_by_the_rate(
    fakes: RunningFakes, metrics: VendorMetrics,
) -> None:
    config = GlassnodeConfig(http=fast(fakes.base_url("glassnode"), rate_per_second=40.0,
                                       burst=1))
    async with GlassnodeClient(Secret(DEMO_API_KEYS["glassnode"]), config,
                               metrics=metrics) as glassnode:
        await asyncio.gather(*(glassnode.series("indicators/sopr", "BTC") for _ in range(5)))

    arrivals = [s.at for s in fakes["glassnode"].requests]
    assert len(arrivals) == 5
    # A lower bound only: a slow machine spaces requests more, never less (4 gaps of 25 ms).
    assert arrivals[-1] - arrivals[0] >= 4 / 40 * 0.9


async def test_retry_after_as_an_http_date_is_honoured(
    fakes: RunningFakes, metrics: VendorMetrics, sleeps: RecordingSleep,
) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    fakes["glassnode"].faults.rate_limit(
        1, retry_after=format_datetime(now + timedelta(seconds=9), usegmt=True))
    config = GlassnodeConfig(http=fast(fakes.base_url("glassnode")))
    runtime = Runtime(sleep=sleeps, wall_clock=lambda: now)

    async with GlassnodeClient(Secret(DEMO_API_KEYS["glassnode"]), config, metrics=metrics,
                               runtime=runtime) as glassnode:
        fetched = await glassnode.series("indicators/sopr", "BTC")

    assert fetched.items
    assert sleeps.delays == [9.0]
    assert {p.available_at for p in fetched.items} == {now}


async def test_a_429_without_retry_after_backs_off_instead(
    fakes: RunningFakes, metrics: VendorMetrics, runtime: Runtime, sleeps: RecordingSleep,
) -> None:
    fakes["glassnode"].faults.rate_limit(1, retry_after=None)
    config = GlassnodeConfig(http=fast(fakes.base_url("glassnode"), backoff_base_s=2.0))

    async with GlassnodeClient(Secret(DEMO_API_KEYS["glassnode"]), config, metrics=metrics,
                               runtime=runtime) as glassnode:
        await glassnode.series("indicators/sopr", "BTC")

    assert len(sleeps.delays) == 1
    assert 1.0 <= sleeps.delays[0] <= 2.0


def test_the_config_refuses_keys_in_the_url_and_nonsense_limits() -> None:
    with pytest.raises(InvalidValue, match="must not carry a query"):
        VendorHttpConfig("https://api.glassnode.com?api_key=x")
    with pytest.raises(InvalidValue, match="http:// or https://"):
        VendorHttpConfig("api.glassnode.com")
    with pytest.raises(InvalidValue, match="rate_per_second must be positive"):
        VendorHttpConfig("https://api.glassnode.com", rate_per_second=0)
    with pytest.raises(InvalidValue, match="at least 1"):
        VendorHttpConfig("https://api.glassnode.com", max_attempts=0)

