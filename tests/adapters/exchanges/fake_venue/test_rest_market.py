"""Public REST endpoints: shapes of the recorded payloads, weights, 429 then 418."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx

from adapters.exchanges.fake_venue import DEMO_API_KEY, RunningVenue, serve
from tests.adapters.exchanges.fake_venue.conftest import fixture, paused


async def test_ping_and_time_have_the_recorded_shapes(http: httpx.AsyncClient) -> None:
    ping = await http.get("/api/v3/ping")
    server_time = await http.get("/api/v3/time")

    assert ping.json() == fixture("spot/rest/ping.json")
    assert server_time.json().keys() == fixture("spot/rest/time.json").keys()
    assert ping.headers["X-MBX-USED-WEIGHT-1M"] == "1"
    assert server_time.headers["X-MBX-USED-WEIGHT-1M"] == "2"


async def test_exchange_info_lists_symbols_with_filters_and_permissions(
        http: httpx.AsyncClient) -> None:
    info = (await http.get("/api/v3/exchangeInfo")).json()
    one = (await http.get("/api/v3/exchangeInfo", params={"symbol": "ETHUSDT"})).json()
    recorded = fixture("spot/rest/exchangeInfo_ETHBTC_minimal.json")

    assert info.keys() == {"timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"}
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
    btc = info["symbols"][0]
    assert btc.keys() == recorded["symbols"][0].keys()
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"] == {"filterType": "LOT_SIZE", "minQty": "0.00001000",
                                   "maxQty": "9000.00000000", "stepSize": "0.00001000"}
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert btc["permissionSets"] == [["SPOT"]] and btc["isSpotTradingAllowed"] is True
    assert {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
            "limit": 6000} in info["rateLimits"]


async def test_depth_is_the_replayed_book_with_its_update_id(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    before = (await http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5})).json()
    recorded = fixture("spot/rest/depth_limit1000_BTCUSDT_2024-08-08_live.json")

    await venue.replay.step(500)
    after = await http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 1000})

    assert before == {"lastUpdateId": recorded["lastUpdateId"], "bids": recorded["bids"][:5],
                      "asks": recorded["asks"][:5]}
    book = after.json()
    assert book["lastUpdateId"] > recorded["lastUpdateId"]
    assert after.headers["X-MBX-USED-WEIGHT-1M"] == str(5 + 50)
    bids = [Decimal(p) for p, _ in book["bids"]]
    asks = [Decimal(p) for p, _ in book["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks) and bids[0] < asks[0]


async def test_tickers_and_trades_follow_the_replay(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    await venue.replay.advance(60_000)

    ticker = (await http.get("/api/v3/ticker/bookTicker", params={"symbol": "ETHUSDT"})).json()
    both = (await http.get("/api/v3/ticker/bookTicker")).json()
    stats = (await http.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})).json()
    picked = await http.get("/api/v3/ticker/24hr", params={"symbols": '["ETHUSDT","BTCUSDT"]'})
    trades = (await http.get("/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 3})).json()

    quote = venue.venue.markets["ETHUSDT"].quote
    assert quote is not None
    assert ticker == {"symbol": "ETHUSDT", "bidPrice": quote.bid, "bidQty": quote.bid_qty,
                      "askPrice": quote.ask, "askQty": quote.ask_qty}
    assert ticker.keys() == fixture("spot/rest/bookTicker.json").keys()
    assert [t["symbol"] for t in both] == ["BTCUSDT", "ETHUSDT"]
    assert stats.keys() == fixture("spot/rest/ticker_24hr.json").keys()
    assert Decimal(stats["lastPrice"]) == venue.venue.markets["BTCUSDT"].last_price
    assert stats["count"] == stats["lastId"] - stats["firstId"] + 1 > 100
    assert Decimal(stats["lowPrice"]) <= Decimal(stats["lastPrice"]) <= Decimal(stats["highPrice"])
    assert [t["symbol"] for t in picked.json()] == ["ETHUSDT", "BTCUSDT"]
    assert trades[0].keys() == fixture("spot/rest/trades_BTCUSDT_2021-10-22.json")[0].keys()
    assert [t["id"] for t in trades] == list(range(stats["lastId"] - 2, stats["lastId"] + 1))


async def test_agg_trades_page_by_id_or_time_and_sum_the_trades(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    await venue.replay.advance(60_000)

    latest = (await http.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": 5}))
    rows = latest.json()
    first = rows[0]["a"]
    paged = (await http.get("/api/v3/aggTrades", params={
        "symbol": "BTCUSDT", "fromId": first, "limit": 3})).json()
    window = (await http.get("/api/v3/aggTrades", params={
        "symbol": "BTCUSDT", "startTime": rows[1]["T"], "endTime": rows[3]["T"]})).json()
    too_long = await http.get("/api/v3/aggTrades", params={
        "symbol": "BTCUSDT", "startTime": 0, "endTime": 3_600_001})
    trades = (await http.get("/api/v3/historicalTrades", params={
        "symbol": "BTCUSDT", "fromId": rows[-1]["f"], "limit": 1000},
        headers={"X-MBX-APIKEY": DEMO_API_KEY})).json()

    assert latest.headers["x-mbx-used-weight-1m"]
    assert rows[0].keys() == fixture("spot/rest/aggTrades.json")[0].keys()
    assert [r["a"] for r in rows] == list(range(first, first + 5))
    assert paged == rows[:3]
    assert [r["a"] for r in window] == [r["a"] for r in rows[1:4]]
    assert too_long.status_code == 400 and too_long.json()["code"] == -1127
    # An aggregate is the sum of its trades, all at its price
    summed = [t for t in trades if rows[-1]["f"] <= t["id"] <= rows[-1]["l"]]
    assert sum(Decimal(t["qty"]) for t in summed) == Decimal(rows[-1]["q"])
    assert {t["price"] for t in summed} == {rows[-1]["p"]}


async def test_klines_shape_and_parameter_errors(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    await venue.replay.advance(200_000)

    rows = (await http.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m",
                                                     "limit": 2})).json()
    five = (await http.get("/api/v3/klines", params={"symbol": "BTCUSDT",
                                                     "interval": "5m"})).json()
    bad_interval = await http.get("/api/v3/klines", params={"symbol": "BTCUSDT",
                                                            "interval": "7m"})
    bad_symbol = await http.get("/api/v3/klines", params={"symbol": "DOGEUSDT",
                                                          "interval": "1m"})
    missing = await http.get("/api/v3/klines", params={"symbol": "BTCUSDT"})

    recorded = fixture("spot/rest/klines_BTCUSDT_1m_2021-10-22.json")[0]
    assert len(rows) == 2 and [type(v) for v in rows[0]] == [type(v) for v in recorded]
    assert rows[1][0] - rows[0][0] == 60_000
    assert sum(Decimal(r[5]) for r in five) > 0 and five[0][6] - five[0][0] == 299_999
    assert (bad_interval.status_code, bad_interval.json()["code"]) == (400, -1120)
    assert bad_symbol.json() == {"code": -1121, "msg": "Invalid symbol."}
    assert missing.json()["code"] == -1102


async def test_going_over_the_weight_limit_answers_429_then_418(data_dir: Path) -> None:
    running = await serve(paused(data_dir, symbols=("BTCUSDT",), weight_limit=30,
                                 ban_after_violations=2, ban_seconds=60))
    try:
        async with httpx.AsyncClient(base_url=running.rest_url) as http:
            statuses = []
            for _ in range(8):
                response = await http.get("/api/v3/depth", params={"symbol": "BTCUSDT"})
                statuses.append(response.status_code)
                last = response

            assert statuses == [200] * 6 + [429, 429]
            limited = await http.get("/api/v3/ping")
            banned = await http.get("/api/v3/ping")
    finally:
        await running.stop()

    assert last.status_code == 429 and last.json()["code"] == -1003
    assert int(last.headers["Retry-After"]) > 0
    assert last.headers["X-MBX-USED-WEIGHT-1M"] == "40"
    assert limited.status_code == 418 and banned.status_code == 418
    assert banned.json()["code"] == -1003 and "IP banned until" in banned.json()["msg"]
    assert 0 < int(banned.headers["Retry-After"]) <= 60
