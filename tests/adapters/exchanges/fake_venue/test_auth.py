"""Request security: Binance's official HMAC vectors, API keys, signatures and recvWindow."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.exchanges.fake_venue import DEMO_API_KEY, DEMO_SECRET_KEY, sign
from adapters.exchanges.fake_venue.auth import rest_payload, ws_payload
from tests.adapters.exchanges.fake_venue.conftest import fixture
from tests.adapters.exchanges.fake_venue.support import SignedClient, now_ms

VECTORS: dict[str, Any] = fixture("signing/hmac_sha256_vectors.json")


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_official_hmac_vectors(vector: dict[str, Any]) -> None:
    payload = rest_payload(vector.get("query_string", vector["payload"]),
                           vector.get("request_body", ""))

    assert payload == vector["payload"]
    assert sign(VECTORS["secretKey"], payload) == vector["signature"]


def test_the_demo_account_is_the_documented_key_pair() -> None:
    assert (VECTORS["apiKey"], VECTORS["secretKey"]) == (DEMO_API_KEY, DEMO_SECRET_KEY)


def test_websocket_api_payload_sorts_params_by_name() -> None:
    params = {"symbol": "BTCUSDT", "apiKey": "k", "timestamp": 1645423376532, "recvWindow": 100,
              "signature": "ignored", "newOrderRespType": "ACK"}

    assert ws_payload(params) == ("apiKey=k&newOrderRespType=ACK&recvWindow=100&"
                                  "symbol=BTCUSDT&timestamp=1645423376532")


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
async def test_the_venue_accepts_the_official_signatures(
        http: httpx.AsyncClient, vector: dict[str, Any]) -> None:
    # The vectors' 2017 timestamp is stale: a valid signature gets as far as -1021;
    # the same request with one signature digit changed stops at -1022.
    query = vector.get("query_string", vector["payload"])
    body = vector.get("request_body", "")
    signature = vector["signature"]
    headers = {"X-MBX-APIKEY": VECTORS["apiKey"],
               "Content-Type": "application/x-www-form-urlencoded"}

    def send(sig: str) -> Any:
        if body:
            return http.post(f"/api/v3/order?{query}", content=f"{body}&signature={sig}",
                             headers=headers)
        return http.post("/api/v3/order", content=f"{query}&signature={sig}", headers=headers)

    valid = await send(signature.upper())  # HMAC signatures compare case-insensitively
    tampered = await send(("0" if signature[0] != "0" else "1") + signature[1:])

    assert valid.json()["code"] == -1021
    assert (tampered.status_code, tampered.json()) == (
        400, {"code": -1022, "msg": "Signature for this request is not valid."})


async def test_api_key_errors(http: httpx.AsyncClient) -> None:
    missing = await SignedClient(http, api_key="").signed("GET", "/api/v3/account")
    unknown = await SignedClient(http, api_key="A" * 64).signed("GET", "/api/v3/account")

    assert (missing.status_code, missing.json()["code"]) == (401, -2014)
    assert (unknown.status_code, unknown.json()["code"]) == (401, -2015)


async def test_timing_errors(client: SignedClient, http: httpx.AsyncClient) -> None:
    stale = await client.signed("GET", "/api/v3/account", timestamp=now_ms() - 10_000)
    wide = await client.signed("GET", "/api/v3/account", timestamp=now_ms() - 10_000,
                               recvWindow=20_000)
    ahead = await client.signed("GET", "/api/v3/account", timestamp=now_ms() + 5_000)
    too_wide = await client.signed("GET", "/api/v3/account", recvWindow=70_000)
    unsigned = await http.get("/api/v3/account", params={"timestamp": now_ms()},
                              headers={"X-MBX-APIKEY": DEMO_API_KEY})

    assert stale.json() == {"code": -1021,
                            "msg": "Timestamp for this request is outside of the recvWindow."}
    assert wide.status_code == 200
    assert ahead.json()["code"] == -1021 and "ahead" in ahead.json()["msg"]
    assert too_wide.json()["code"] == -1131
    assert unsigned.json()["code"] == -1102 and "signature" in unsigned.json()["msg"]


async def test_a_wrong_secret_is_a_bad_signature(http: httpx.AsyncClient) -> None:
    response = await SignedClient(http, secret="not-the-secret").signed("GET", "/api/v3/account")

    assert response.status_code == 400 and response.json()["code"] == -1022
