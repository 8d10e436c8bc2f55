"""The fake vendors themselves: wire format of their errors, determinism, the demo process."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import httpx

from adapters.vendors.fake import DEMO_API_KEYS, FakeVendorsConfig, RunningFakes, serve_fakes
from tests.adapters.vendors.conftest import AS_OF
from tests.conftest import REPO


async def test_error_answers_carry_each_vendors_documented_codes(fakes: RunningFakes) -> None:
    fakes["coingecko"].faults.rate_limit(1, retry_after="30")
    fakes["coinmarketcap"].faults.rate_limit(1, retry_after=None)
    fakes["glassnode"].faults.rate_limit(1, retry_after="12")
    cmc = fakes.base_url("coinmarketcap") + "/v1/cryptocurrency/quotes/latest?symbol=BTC"
    cmc_key = {"X-CMC_PRO_API_KEY": DEMO_API_KEYS["coinmarketcap"]}
    glassnode = fakes.base_url("glassnode") + "/v1/metrics/indicators/sopr?a=BTC"

    async with httpx.AsyncClient() as http:
        gecko_429 = await http.get(fakes.base_url("coingecko") + "/api/v3/ping")
        gecko_401 = await http.get(fakes.base_url("coingecko") + "/api/v3/ping",
                                   headers={"x-cg-demo-api-key": "wrong"})
        cmc_missing = await http.get(cmc)
        cmc_invalid = await http.get(cmc, headers={"X-CMC_PRO_API_KEY": "wrong"})
        cmc_429 = await http.get(cmc, headers=cmc_key)
        node_401 = await http.get(glassnode)
        node_429 = await http.get(glassnode, headers={"X-Api-Key": DEMO_API_KEYS["glassnode"]})
        panic_401 = await http.get(fakes.base_url("cryptopanic") + "/api/v1/posts/",
                                   params={"auth_token": "wrong"})

    assert (gecko_429.status_code, gecko_429.headers["retry-after"]) == (429, "30")
    assert gecko_429.json()["status"]["error_code"] == 429
    assert "exceeded the Rate Limit" in gecko_429.json()["status"]["error_message"]
    assert (gecko_401.status_code, gecko_401.json()["status"]["error_code"]) == (401, 10010)
    for answer, status, code in ((cmc_missing, 401, 1002), (cmc_invalid, 401, 1001),
                                 (cmc_429, 429, 1008)):
        assert (answer.status_code, answer.json()["status"]["error_code"]) == (status, code)
        assert set(answer.json()["status"]) >= {"timestamp", "error_message", "credit_count"}
    assert "retry-after" not in cmc_429.headers
    assert (node_401.status_code, node_401.text) == (
        401, "Unauthorized - Invalid or missing API key")
    assert (node_429.status_code, node_429.headers["x-rate-limit-remaining"],
            node_429.headers["retry-after"]) == (429, "0", "12")
    assert (panic_401.status_code, panic_401.json()) == (401, {"detail": "Invalid token."})


async def test_the_same_seed_and_instant_give_the_same_answers() -> None:
    first = await serve_fakes(FakeVendorsConfig(port=0, as_of=AS_OF))
    second = await serve_fakes(FakeVendorsConfig(port=0, as_of=AS_OF))
    paths = {"coingecko": "/api/v3/coins/markets?vs_currency=usd",
             "glassnode": "/v1/metrics/market/marketcap_usd?a=ETH&i=1h",
             "cryptopanic": "/api/v1/posts/?auth_token=" + DEMO_API_KEYS["cryptopanic"]}
    headers = {"X-Api-Key": DEMO_API_KEYS["glassnode"]}
    try:
        async with httpx.AsyncClient(headers=headers) as http:
            for vendor, path in paths.items():
                a = await http.get(first.base_url(vendor) + path)
                b = await http.get(second.base_url(vendor) + path)
                assert a.status_code == 200, vendor
                # Only the host in CryptoPanic's next link differs.
                assert a.text.replace(str(first.port), "P") == b.text.replace(
                    str(second.port), "P"), vendor
    finally:
        await first.stop()
        await second.stop()


async def test_the_demo_entry_point_serves_every_vendor_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.vendors.fake", "--port", "0",
        "--as-of", "2018-06-01T12:00:00Z", cwd=REPO, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = json.loads(await asyncio.wait_for(process.stdout.readline(), 20))
        async with httpx.AsyncClient() as http:
            index = (await http.get(f"http://127.0.0.1:{line['port']}/")).json()
            ping = await http.get(line["coingecko"] + "/api/v3/ping")
        assert index == {v: line[v] for v in ("coingecko", "coinmarketcap", "cryptopanic",
                                              "glassnode")}
        assert ping.json() == {"gecko_says": "(V3) To the Moon!"}
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 10)
    assert code == 0
