"""Signed trading: orders against the replayed market, balances, and Binance's error codes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchanges.fake_venue import RunningVenue
from tests.adapters.exchanges.fake_venue.conftest import fixture
from tests.adapters.exchanges.fake_venue.support import SignedClient

D = Decimal
ORDER = "/api/v3/order"


def _touch(venue: RunningVenue, symbol: str = "BTCUSDT") -> tuple[D, D, D, D]:
    touch = venue.venue.markets[symbol].touch
    assert touch is not None
    return touch


def _status(venue: RunningVenue, order_id: int, symbol: str = "BTCUSDT") -> str:
    return venue.venue.engine.orders[symbol][order_id].status


async def test_market_buy_fills_at_the_touch_and_moves_balances(
        venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)
    _, _, ask, ask_qty = _touch(venue)
    qty = min(D("0.01"), ask_qty)
    before = await client.balances()

    placed = await client.ok("POST", ORDER, symbol="BTCUSDT", side="BUY", type="MARKET",
                             quantity=qty)
    after = await client.balances()

    assert placed.keys() == fixture("spot/rest/order_new_FULL_response.json").keys()
    assert placed["status"] == "FILLED" and D(placed["executedQty"]) == qty
    [fill] = placed["fills"]
    commission = D(fill["commission"])
    assert D(fill["price"]) == ask and fill["commissionAsset"] == "BTC"
    assert commission == (qty * D("0.001")).quantize(D("1e-8"))
    assert D(after["USDT"][0]) == D(before["USDT"][0]) - ask * qty
    assert D(after["BTC"][0]) == D(before["BTC"][0]) + qty - commission
    trades = await client.ok("GET", "/api/v3/myTrades", symbol="BTCUSDT")
    assert trades[0].keys() == fixture("spot/rest/myTrades_response.json")[0].keys()
    assert trades[0]["isBuyer"] is True and trades[0]["isMaker"] is False


async def test_a_large_market_order_walks_the_replayed_book(
        venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)
    bid, bid_qty, _, _ = _touch(venue)
    qty = (bid_qty + D("0.5")).quantize(D("0.00001"))

    placed = await client.ok("POST", ORDER, symbol="BTCUSDT", side="SELL", type="MARKET",
                             quantity=qty)

    prices = [D(f["price"]) for f in placed["fills"]]
    assert prices[0] == bid and prices == sorted(prices, reverse=True) and len(prices) > 1
    assert sum(D(f["qty"]) for f in placed["fills"]) == qty


async def test_quote_quantity_market_order_spends_about_that_much(
        venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)

    placed = await client.ok("POST", ORDER, symbol="ETHUSDT", side="BUY", type="MARKET",
                             quoteOrderQty="100")

    spent = D(placed["cummulativeQuoteQty"])
    assert placed["status"] == "FILLED" and D(placed["origQuoteOrderQty"]) == 100
    assert D(95) < spent <= D(100)
    assert D(placed["executedQty"]) % D("0.0001") == 0


async def test_a_resting_limit_locks_funds_until_cancelled(
        venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)
    bid = _touch(venue)[0]
    price = bid - D(100)
    before = await client.balances()

    placed = await client.ok("POST", ORDER, symbol="BTCUSDT", side="BUY", type="LIMIT",
                             timeInForce="GTC", quantity="0.01", price=price,
                             newClientOrderId="rest-1")
    resting = await client.balances()
    listed = await client.ok("GET", "/api/v3/openOrders", symbol="BTCUSDT")
    queried = await client.ok("GET", ORDER, symbol="BTCUSDT", origClientOrderId="rest-1")
    cancelled = await client.ok("DELETE", ORDER, symbol="BTCUSDT", orderId=placed["orderId"])
    after = await client.balances()

    locked = price * D("0.01")
    assert placed["status"] == "NEW" and placed["fills"] == []
    assert D(resting["USDT"][1]) == locked
    assert D(resting["USDT"][0]) == D(before["USDT"][0]) - locked
    assert [o["orderId"] for o in listed] == [placed["orderId"]]
    assert queried.keys() == fixture("spot/rest/order_query_response.json").keys()
    assert queried["isWorking"] is True and queried["clientOrderId"] == "rest-1"
    assert cancelled.keys() == fixture("spot/rest/order_cancel_response.json").keys()
    assert cancelled["status"] == "CANCELED" and cancelled["origClientOrderId"] == "rest-1"
    assert after["USDT"] == before["USDT"]


async def test_a_limit_fills_when_trades_go_through_it(
        venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)
    bid = _touch(venue)[0]
    placed = await client.ok("POST", ORDER, symbol="BTCUSDT", side="BUY", type="LIMIT",
                             timeInForce="GTC", quantity="0.002", price=bid)

    filled = await venue.replay.run_until(lambda: _status(venue, placed["orderId"]) == "FILLED")
    order = await client.ok("GET", ORDER, symbol="BTCUSDT", orderId=placed["orderId"])
    trades = await client.ok("GET", "/api/v3/myTrades", symbol="BTCUSDT",
                             orderId=placed["orderId"])

    assert filled and order["status"] == "FILLED"
    assert all(D(t["price"]) == bid and t["isMaker"] is True for t in trades)
    assert sum(D(t["qty"]) for t in trades) == D("0.002")
    assert D(order["cummulativeQuoteQty"]) == bid * D("0.002")


async def test_stop_loss_triggers_on_a_trade_and_sells_at_the_market(
        venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)
    last = venue.venue.markets["BTCUSDT"].last_price
    assert last is not None

    wrong_side = await client.signed("POST", ORDER, symbol="BTCUSDT", side="SELL",
                                     type="STOP_LOSS", quantity="0.01", stopPrice=last + 10)
    placed = await client.ok("POST", ORDER, symbol="BTCUSDT", side="SELL", type="STOP_LOSS",
                             quantity="0.01", stopPrice=last - D("5"))
    pending = await client.ok("GET", ORDER, symbol="BTCUSDT", orderId=placed["orderId"])
    triggered = await venue.replay.run_until(
        lambda: _status(venue, placed["orderId"]) != "NEW")
    done = await client.ok("GET", ORDER, symbol="BTCUSDT", orderId=placed["orderId"])

    assert wrong_side.json() == {"code": -2010, "msg": "Order would trigger immediately."}
    assert placed.keys() == {"symbol", "orderId", "orderListId", "clientOrderId",
                             "transactTime"}  # ACK is the default for stop orders
    assert pending["isWorking"] is False and pending["workingTime"] == -1
    assert triggered and done["status"] == "FILLED" and done["isWorking"] is True
    assert D(done["stopPrice"]) == last - 5


async def test_take_profit_limit_works_as_a_limit_once_triggered(
        venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)
    last = venue.venue.markets["BTCUSDT"].last_price
    assert last is not None

    placed = await client.ok("POST", ORDER, symbol="BTCUSDT", side="BUY",
                             type="TAKE_PROFIT_LIMIT", timeInForce="GTC", quantity="0.001",
                             stopPrice=last - 5, price=last - 5, newOrderRespType="RESULT")
    await venue.replay.run_until(lambda: venue.venue.engine.orders["BTCUSDT"][
        placed["orderId"]].triggered)
    order = await client.ok("GET", ORDER, symbol="BTCUSDT", orderId=placed["orderId"])

    assert placed["status"] == "NEW" and D(placed["stopPrice"]) == last - 5
    assert order["isWorking"] is True and order["status"] in ("NEW", "PARTIALLY_FILLED",
                                                              "FILLED")


async def test_immediate_or_cancel_and_fill_or_kill(
        venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)
    bid, bid_qty, _, _ = _touch(venue)
    qty = (bid_qty + D("0.01")).quantize(D("0.00001"))

    ioc = await client.ok("POST", ORDER, symbol="BTCUSDT", side="SELL", type="LIMIT",
                          timeInForce="IOC", quantity=qty, price=bid)
    fok = await client.ok("POST", ORDER, symbol="BTCUSDT", side="SELL", type="LIMIT",
                          timeInForce="FOK", quantity=qty, price=bid)
    maker = await client.signed("POST", ORDER, symbol="BTCUSDT", side="SELL",
                                type="LIMIT_MAKER", quantity="0.001", price=bid)

    assert ioc["status"] == "EXPIRED" and D(ioc["executedQty"]) == bid_qty
    assert ioc["expiryReason"] == "UNFILLED_IOC_QUANTITY_EXPIRED"
    assert fok["status"] == "EXPIRED" and D(fok["executedQty"]) == 0
    assert maker.json() == {"code": -2010, "msg": "Order would immediately match and take."}


@pytest.mark.parametrize(("params", "code", "msg"), [
    ({"price": "60000.000000001"}, -1111, "Parameter 'price' has too much precision."),
    ({"price": "60000.005"}, -1013, "Filter failure: PRICE_FILTER"),
    ({"quantity": "0.000015"}, -1013, "Filter failure: LOT_SIZE"),
    ({"quantity": "0.00001"}, -1013, "Filter failure: NOTIONAL"),
    ({"quantity": "5"}, -2010, "Account has insufficient balance for requested action."),
    ({"side": "HOLD"}, -1117, "Invalid side."),
    ({"type": "ICEBERG"}, -1116, "Invalid orderType."),
    ({"timeInForce": "GTD"}, -1115, "Invalid timeInForce."),
    ({"quantity": "1e-3"}, -1100, None),
    ({"quantity": None}, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, "
                                "or malformed."),
    ({"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
    ({"stopPrice": "1"}, -1106, "Parameter 'stopPrice' sent when not required."),
])
async def test_order_errors(client: SignedClient, params: dict[str, str | None], code: int,
                            msg: str | None) -> None:
    base: dict[str, str | None] = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                   "timeInForce": "GTC", "quantity": "0.01",
                                   "price": "60000.01"}

    response = await client.signed("POST", ORDER, **(base | params))

    assert response.status_code == 400
    assert response.json()["code"] == code
    if msg is not None:
        assert response.json()["msg"] == msg


async def test_unknown_orders(client: SignedClient) -> None:
    cancel = await client.signed("DELETE", ORDER, symbol="BTCUSDT", orderId=424242)
    query = await client.signed("GET", ORDER, symbol="BTCUSDT", orderId=424242)
    neither = await client.signed("DELETE", ORDER, symbol="BTCUSDT")
    cancel_all = await client.signed("DELETE", "/api/v3/openOrders", symbol="BTCUSDT")

    assert cancel.json() == {"code": -2011, "msg": "Unknown order sent."}
    assert query.json() == {"code": -2013, "msg": "Order does not exist."}
    assert neither.json()["code"] == -1102
    assert cancel_all.json()["code"] == -2011


async def test_all_orders_and_account_agree(venue: RunningVenue, client: SignedClient) -> None:
    await venue.replay.step(300)
    bid = _touch(venue, "ETHUSDT")[0]
    for offset in (10, 20, 30):
        await client.ok("POST", ORDER, symbol="ETHUSDT", side="BUY", type="LIMIT",
                        timeInForce="GTC", quantity="0.1", price=bid - offset)

    cancelled = await client.ok("DELETE", "/api/v3/openOrders", symbol="ETHUSDT")
    orders = await client.ok("GET", "/api/v3/allOrders", symbol="ETHUSDT", limit=2)
    info = await client.ok("GET", "/api/v3/account")

    assert [c["status"] for c in cancelled] == ["CANCELED"] * 3
    assert len(orders) == 2 and orders[0]["orderId"] < orders[1]["orderId"]
    assert info.keys() == fixture("spot/rest/account_response.json").keys()
    usdt = next(b for b in info["balances"] if b["asset"] == "USDT")
    assert usdt == {"asset": "USDT", "free": "100000.00000000", "locked": "0.00000000"}
