"""One order walked NEW -> PARTIALLY_FILLED -> CANCELED; REST and user data agree at each step."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from adapters.exchanges.fake_venue import DEMO_API_KEY, RunningVenue
from tests.adapters.exchanges.fake_venue.support import SignedClient, connect, drain, recv_json
from tests.adapters.exchanges.fake_venue.test_user_data import subscribe_request

D = Decimal
START = {"USDT": (D(100_000), D(0)), "BTC": (D(1), D(0))}


def _positions(events: list[dict[str, Any]]) -> dict[str, tuple[Decimal, Decimal]]:
    return {b["a"]: (D(b["f"]), D(b["l"])) for e in events
            if e["e"] == "outboundAccountPosition" for b in e["B"]}


async def _rest_balances(client: SignedClient) -> dict[str, tuple[Decimal, Decimal]]:
    return {a: (D(f), D(lk)) for a, (f, lk) in (await client.balances()).items()}


async def test_new_partially_filled_canceled(venue: RunningVenue, client: SignedClient,
                                            http: httpx.AsyncClient) -> None:
    # Arrange: both user-data flows listen; the market has a touch.
    await venue.replay.step(300)
    key = (await http.post("/api/v3/userDataStream",
                           headers={"X-MBX-APIKEY": DEMO_API_KEY})).json()["listenKey"]
    async with connect(venue.ws_api_url) as api, connect(f"{venue.ws_url}/ws/{key}") as legacy:
        await api.send(subscribe_request(1))
        assert (await recv_json(api))["result"] == {"subscriptionId": 0}
        touch = venue.venue.markets["BTCUSDT"].touch
        assert touch is not None
        bid = touch[0]
        qty = D("0.5")

        async def step_events() -> list[dict[str, Any]]:
            wrapped = await drain(api, api=True)
            bare = await drain(legacy)
            assert [w["event"] for w in wrapped] == bare  # both flows carry the same events
            return bare

        # Act 1: a buy resting at the bid.
        placed = await client.ok("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY",
                                 type="LIMIT", timeInForce="GTC", quantity=qty, price=bid,
                                 newClientOrderId="walk-1")
        new_events = await step_events()
        new_order = await client.ok("GET", "/api/v3/order", symbol="BTCUSDT",
                                    orderId=placed["orderId"])
        new_rest = await _rest_balances(client)

        # Act 2: the replay runs until a trade prints through the bid.
        engine_order = venue.venue.engine.orders["BTCUSDT"][placed["orderId"]]
        assert await venue.replay.run_until(lambda: engine_order.status != "NEW")
        fill_events = await step_events()
        partial = await client.ok("GET", "/api/v3/order", symbol="BTCUSDT",
                                  orderId=placed["orderId"])
        partial_rest = await _rest_balances(client)

        # Act 3: cancel the rest.
        cancelled = await client.ok("DELETE", "/api/v3/order", symbol="BTCUSDT",
                                    origClientOrderId="walk-1")
        cancel_events = await step_events()
        final = await client.ok("GET", "/api/v3/order", symbol="BTCUSDT",
                                orderId=placed["orderId"])
        final_rest = await _rest_balances(client)

    # Assert step 1: NEW, the quote locked, events and REST agree.
    locked = bid * qty
    assert [(e["e"], e.get("x"), e.get("X")) for e in new_events] == [
        ("executionReport", "NEW", "NEW"), ("outboundAccountPosition", None, None)]
    assert new_order["status"] == "NEW" and placed["status"] == "NEW"
    assert new_rest["USDT"] == (START["USDT"][0] - locked, locked)
    assert _positions(new_events)["USDT"] == new_rest["USDT"]
    assert new_events[0]["c"] == "walk-1" and new_events[0]["i"] == placed["orderId"]

    # Assert step 2: part filled at the order's price as maker, paid from the lock.
    trade, position = fill_events
    filled = D(trade["l"])
    commission = D(trade["n"])
    assert (trade["x"], trade["X"], partial["status"]) == ("TRADE", "PARTIALLY_FILLED",
                                                           "PARTIALLY_FILLED")
    assert 0 < filled < qty and D(trade["L"]) == bid and trade["m"] is True
    assert D(partial["executedQty"]) == D(trade["z"]) == filled
    assert D(partial["cummulativeQuoteQty"]) == D(trade["Z"]) == bid * filled
    assert trade["N"] == "BTC" and commission == (filled * D("0.001")).quantize(D("1e-8"))
    assert partial_rest["USDT"] == (START["USDT"][0] - locked, locked - bid * filled)
    assert partial_rest["BTC"] == (START["BTC"][0] + filled - commission, D(0))
    assert _positions([position]) == {k: partial_rest[k] for k in ("BTC", "USDT")}

    # Assert step 3: cancelled, the rest of the lock back, the fill kept.
    report, position = cancel_events
    assert (report["x"], report["X"], report["C"]) == ("CANCELED", "CANCELED", "walk-1")
    assert report["c"] == cancelled["clientOrderId"] != "walk-1"
    assert cancelled["status"] == final["status"] == "CANCELED"
    assert D(final["executedQty"]) == D(report["z"]) == filled
    assert final_rest["USDT"] == (START["USDT"][0] - bid * filled, D(0))
    assert final_rest["BTC"] == partial_rest["BTC"]
    assert _positions([position]) == {"USDT": final_rest["USDT"]}
