"""User data: the WebSocket API signature subscription and the legacy listenKey flow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from adapters.exchanges.fake_venue import (
    DEMO_API_KEY,
    DEMO_SECRET_KEY,
    RunningVenue,
    serve,
    sign,
)
from tests.adapters.exchanges.fake_venue.conftest import fixture, paused
from tests.adapters.exchanges.fake_venue.support import (
    SignedClient,
    connect,
    drain,
    now_ms,
    recv_json,
    recv_until,
)


def subscribe_request(ident: Any, secret: str = DEMO_SECRET_KEY) -> str:
    """Return a signed ``userDataStream.subscribe.signature`` request, signed as documented:
    every param but ``signature``, sorted by name, as ``key=value`` joined with ``&``."""
    params: dict[str, Any] = {"apiKey": DEMO_API_KEY, "timestamp": now_ms()}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = sign(secret, payload)
    return json.dumps({"id": ident, "method": "userDataStream.subscribe.signature",
                       "params": params})


async def _market_buy(venue: RunningVenue, client: SignedClient) -> dict[str, Any]:
    await venue.replay.step(300)
    return await client.ok("POST", "/api/v3/order", symbol="ETHUSDT", side="BUY",
                           type="MARKET", quantity="0.05")


async def test_signature_subscription_delivers_wrapped_events(
        venue: RunningVenue, client: SignedClient) -> None:
    async with connect(venue.ws_api_url) as ws:
        await ws.send(subscribe_request("sub-1"))
        answer = await recv_json(ws)
        order = await _market_buy(venue, client)
        events = [m for m in await drain(ws, api=True) if "event" in m]

    assert answer["id"] == "sub-1" and answer["status"] == 200
    assert answer["result"] == {"subscriptionId": 0}
    assert answer["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    # A market order locks nothing, so only its fill moves balances.
    assert [(e["event"]["e"], e["event"].get("x")) for e in events] == [
        ("executionReport", "NEW"), ("executionReport", "TRADE"),
        ("outboundAccountPosition", None)]
    assert all(e["subscriptionId"] == 0 for e in events)
    trade = events[1]["event"]
    recorded = fixture("spot/user_data/executionReport_wrapped.json")
    assert trade.keys() == recorded["event"].keys()
    assert (trade["i"], trade["X"], trade["z"]) == (order["orderId"], "FILLED", "0.05000000")
    position = events[2]["event"]
    assert position.keys() == fixture("spot/user_data/outboundAccountPosition_wrapped.json")[
        "event"].keys()
    assert {b["a"] for b in position["B"]} == {"ETH", "USDT"}


async def test_websocket_api_errors_listing_and_unsubscribe(venue: RunningVenue) -> None:
    async with connect(venue.ws_api_url) as ws:
        await ws.send(subscribe_request(1, secret="wrong"))
        bad = await recv_json(ws)
        await ws.send(subscribe_request(2))
        first = await recv_json(ws)
        await ws.send(subscribe_request(3))
        again = await recv_json(ws)
        await ws.send('{"id":4,"method":"session.subscriptions"}')
        listed = await recv_json(ws)
        await ws.send('{"id":5,"method":"userDataStream.unsubscribe",'
                      '"params":{"subscriptionId":0}}')
        terminated = await recv_json(ws)
        unsubscribed = await recv_json(ws)
        await ws.send('{"id":6,"method":"order.explode"}')
        unknown = await recv_json(ws)

    assert bad["status"] == 400 and bad["error"]["code"] == -1022
    assert first["result"] == {"subscriptionId": 0}
    assert again["status"] == 400 and again["error"]["code"] == -2035
    assert listed["result"] == [{"subscriptionId": 0}]
    assert terminated["event"]["e"] == "eventStreamTerminated"
    assert unsubscribed == {"id": 5, "status": 200, "result": {},
                            "rateLimits": unsubscribed["rateLimits"]}
    assert unknown["status"] == 400 and unknown["error"]["code"] == -1020


async def test_legacy_listen_key_flow(venue: RunningVenue, client: SignedClient,
                                      http: httpx.AsyncClient) -> None:
    headers = {"X-MBX-APIKEY": DEMO_API_KEY}
    created = (await http.post("/api/v3/userDataStream", headers=headers)).json()
    key = created["listenKey"]
    same = (await http.post("/api/v3/userDataStream", headers=headers)).json()
    kept = await http.put("/api/v3/userDataStream", params={"listenKey": key}, headers=headers)
    unknown = await http.put("/api/v3/userDataStream", params={"listenKey": "x" * 60},
                             headers=headers)
    no_key = await http.post("/api/v3/userDataStream")

    async with connect(f"{venue.ws_url}/ws/{key}") as raw, \
            connect(f"{venue.ws_url}/stream?streams={key}") as combined:
        await asyncio.sleep(0.05)
        await _market_buy(venue, client)
        bare = await recv_until(raw, lambda m: m.get("x") == "TRADE")
        wrapped = await recv_until(combined, lambda m: m["data"].get("x") == "TRADE")
        closed = await http.delete("/api/v3/userDataStream", params={"listenKey": key},
                                   headers=headers)
        await asyncio.wait_for(raw.wait_closed(), 3)

    assert len(key) == 60 and same == created and kept.json() == {}
    assert unknown.json() == {"code": -1125, "msg": "This listenKey does not exist."}
    assert (no_key.status_code, no_key.json()["code"]) == (401, -2014)
    assert bare.keys() == fixture(
        "spot/user_data/executionReport_trade_filled_unwrapped.json").keys() | {
        "F", "g", "I", "M", "Y", "Q", "W", "V"}
    assert wrapped == {"stream": key, "data": bare}
    assert closed.json() == {}


async def test_an_unkept_listen_key_expires_with_an_event(data_dir: Path) -> None:
    running = await serve(paused(data_dir, symbols=("BTCUSDT",), listen_key_ttl_s=0.4))
    try:
        async with httpx.AsyncClient(base_url=running.rest_url) as http:
            key = (await http.post("/api/v3/userDataStream",
                                   headers={"X-MBX-APIKEY": DEMO_API_KEY})).json()["listenKey"]
            async with connect(f"{running.ws_url}/ws/{key}") as ws:
                expired = await recv_json(ws, timeout=3)
                await asyncio.wait_for(ws.wait_closed(), 3)
            gone = await http.put("/api/v3/userDataStream", params={"listenKey": key},
                                  headers={"X-MBX-APIKEY": DEMO_API_KEY})
    finally:
        await running.stop()

    assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
    assert gone.json()["code"] == -1125


async def test_a_deposit_through_the_control_api_emits_balance_events(
        venue: RunningVenue, http: httpx.AsyncClient, client: SignedClient) -> None:
    async with connect(venue.ws_api_url) as ws:
        await ws.send(subscribe_request(1))
        await recv_json(ws)
        deposited = await http.post("/_control/balances", json={
            "apiKey": DEMO_API_KEY, "asset": "BTC", "delta": "0.5"})
        events = [m["event"] for m in await drain(ws, api=True)]

    assert deposited.status_code == 200
    assert [e["e"] for e in events] == ["balanceUpdate", "outboundAccountPosition"]
    assert events[0].keys() == fixture("spot/user_data/balanceUpdate.json").keys()
    assert events[1]["B"] == [{"a": "BTC", "f": "1.50000000", "l": "0.00000000"}]
    assert (await client.balances())["BTC"] == ("1.50000000", "0.00000000")
