"""ccxt's Binance client, pointed at the venue, places, queries and cancels a signed order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import ccxt.async_support as ccxt
import pytest

from adapters.exchanges.fake_venue import DEMO_API_KEY, DEMO_SECRET_KEY, RunningVenue


@pytest.fixture
async def exchange(venue: RunningVenue) -> AsyncIterator[ccxt.binance]:
    """ccxt's binance with every API URL rewritten to the venue (STACK.md, "ccxt")."""
    client = ccxt.binance({
        "apiKey": DEMO_API_KEY,
        "secret": DEMO_SECRET_KEY,
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                    "fetchMargins": False},
    })
    client.urls["api"] = venue.local_urls(client.urls["api"])
    try:
        yield client
    finally:
        await client.close()


async def test_ccxt_places_queries_and_cancels_a_signed_order(
        venue: RunningVenue, exchange: ccxt.binance) -> None:
    await venue.replay.step(300)
    markets = await exchange.load_markets()
    bid = (await exchange.fetch_ticker("BTC/USDT"))["bid"]
    price = float(exchange.price_to_precision("BTC/USDT", bid * 0.99))

    placed = await exchange.create_order("BTC/USDT", "limit", "buy", 0.01, price)
    fetched = await exchange.fetch_order(placed["id"], "BTC/USDT")
    open_orders = await exchange.fetch_open_orders("BTC/USDT")
    balance = await exchange.fetch_balance()
    cancelled = await exchange.cancel_order(placed["id"], "BTC/USDT")
    after = await exchange.fetch_order(placed["id"], "BTC/USDT")

    assert sorted(markets) == ["BTC/USDT", "ETH/USDT"]
    assert markets["BTC/USDT"]["precision"]["price"] == 0.01
    assert markets["BTC/USDT"]["limits"]["cost"]["min"] == 5.0
    assert placed["status"] == "open" and placed["clientOrderId"]
    assert fetched["id"] == placed["id"] and fetched["price"] == price
    assert [o["id"] for o in open_orders] == [placed["id"]]
    assert balance["USDT"]["used"] == pytest.approx(price * 0.01)
    assert cancelled["status"] == after["status"] == "canceled"
    assert (await exchange.fetch_balance())["USDT"]["used"] == 0


async def test_ccxt_market_order_and_market_data(
        venue: RunningVenue, exchange: ccxt.binance) -> None:
    await venue.replay.advance(130_000)

    order = await exchange.create_order("ETH/USDT", "market", "buy", 0.05)
    trades = await exchange.fetch_my_trades("ETH/USDT")
    book = await exchange.fetch_order_book("ETH/USDT", 5)
    candles = await exchange.fetch_ohlcv("ETH/USDT", "1m")

    assert order["status"] == "closed" and order["filled"] == 0.05
    assert order["fee"]["currency"] == "ETH"
    assert trades[0]["order"] == order["id"] and trades[0]["takerOrMaker"] == "taker"
    assert len(book["bids"]) == 5 and book["bids"][0][0] < book["asks"][0][0]
    assert len(candles) == 3 and all(c[2] >= max(c[1], c[4]) for c in candles)
