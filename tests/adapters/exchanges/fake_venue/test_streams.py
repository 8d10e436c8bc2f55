"""Market streams over real WebSockets: payloads, (un)subscribing, local books, keepalive."""

from __future__ import annotations

import asyncio
import itertools
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus
from websockets.frames import Close, Frame, Opcode
from websockets.uri import parse_uri

from adapters.exchanges.fake_venue import RunningVenue, serve
from tests.adapters.exchanges.fake_venue.conftest import fixture, paused
from tests.adapters.exchanges.fake_venue.support import connect, drain, recv_json, recv_until
from tests.adapters.exchanges.fake_venue.test_replay import local_book


async def test_raw_streams_carry_the_live_payload_shapes(venue: RunningVenue) -> None:
    names = ("btcusdt@trade", "btcusdt@bookTicker", "btcusdt@depth@100ms", "btcusdt@aggTrade")
    received = {}
    async with connect(f"{venue.ws_url}/ws") as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": list(names), "id": 1}))
        assert await recv_json(ws) == {"result": None, "id": 1}
        await venue.replay.step(400)
        for message in await drain(ws):
            received.setdefault(message.get("e", "bookTicker"), message)

    for event, recorded in (("trade", "trade_BTCUSDT_2024-08-08_live.json"),
                            ("bookTicker", "bookTicker_BTCUSDT_2024-08-08_live.json"),
                            ("depthUpdate", "depth_100ms_BTCUSDT_2024-08-08_live.json")):
        assert received[event].keys() == fixture(f"spot/ws/{recorded}")["data"].keys()
    assert received["trade"] == fixture("spot/ws/trade_BTCUSDT_2024-08-08_live.json")["data"] | {
        "E": received["trade"]["E"], "T": received["trade"]["T"]}
    agg = received["aggTrade"]
    assert agg.keys() == fixture("spot/ws/aggTrade.json")["data"].keys() - {"st"}
    assert agg["f"] <= agg["l"]


async def test_combined_stream_wraps_payloads_with_their_stream_name(
        venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/stream?streams=ethusdt@trade/ethusdt@aggTrade") as ws:
        await venue.replay.step(2000)
        messages = await drain(ws)

    assert {m["stream"] for m in messages} == {"ethusdt@trade", "ethusdt@aggTrade"}
    trades = {m["data"]["t"]: Decimal(m["data"]["q"]) for m in messages
              if m["stream"] == "ethusdt@trade"}
    for m in messages:
        if m["stream"] == "ethusdt@aggTrade":
            data = m["data"]
            parts = [trades[t] for t in range(data["f"], data["l"] + 1)]
            assert sum(parts) == Decimal(data["q"])


async def test_subscribe_unsubscribe_list_and_errors(venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/ws/btcusdt@trade") as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["ethusdt@bookTicker"],"id":7}')
        subscribed = await recv_json(ws)
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":"a1"}')
        listed = await recv_json(ws)
        await ws.send('{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":8}')
        unsubscribed = await recv_json(ws)
        await ws.send('{"method":"SUBSCRIBE","params":["dogeusdt@trade"],"id":9}')
        unknown_stream = await recv_json(ws)
        await ws.send('{"method":"SUBSCRIB","params":[],"id":10}')
        unknown_method = await recv_json(ws)
        await ws.send("{not json")
        bad_json = await recv_json(ws)
        await ws.send('{"method":"GET_PROPERTY","params":["combined"],"id":11}')
        combined = await recv_json(ws)
        await venue.replay.step(300)
        after = await drain(ws)

    assert subscribed == {"result": None, "id": 7}
    assert listed == {"result": ["btcusdt@trade", "ethusdt@bookTicker"], "id": "a1"}
    assert unsubscribed == {"result": None, "id": 8}
    assert unknown_stream["error"]["code"] == 2 and unknown_stream["id"] == 9
    assert unknown_method["error"]["code"] == 2 and "SUBSCRIB" in unknown_method["error"]["msg"]
    assert bad_json["error"]["code"] == 3
    assert combined == {"result": False, "id": 11}
    assert after and all(m["s"] == "ETHUSDT" and "u" in m for m in after)


async def test_set_property_combined_wraps_a_raw_connection(venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/ws/btcusdt@bookTicker") as ws:
        await ws.send('{"method":"SET_PROPERTY","params":["combined",true],"id":1}')
        answer = await recv_json(ws)
        await venue.replay.step(50)
        wrapped = await recv_until(ws, lambda m: "stream" in m)

    assert answer == {"result": None, "id": 1}
    assert wrapped["stream"] == "btcusdt@bookTicker" and wrapped["data"]["s"] == "BTCUSDT"


async def test_a_client_builds_the_book_by_binance_rules(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    # Buffer diffs, then fetch a snapshot (Binance's documented procedure), then keep going.
    async with connect(f"{venue.ws_url}/ws/ethusdt@depth@100ms") as ws:
        await venue.replay.step(3000)
        snapshot = (await http.get("/api/v3/depth",
                                   params={"symbol": "ETHUSDT", "limit": 5000})).json()
        await venue.replay.step(6000)
        diffs = await drain(ws)
        final = (await http.get("/api/v3/depth",
                                params={"symbol": "ETHUSDT", "limit": 5000})).json()

    assert diffs[0]["u"] <= snapshot["lastUpdateId"]  # some arrived before the snapshot
    book = local_book(snapshot, diffs)
    assert book["lastUpdateId"] == final["lastUpdateId"]
    assert book["bids"][:1000] == final["bids"][:1000]
    assert book["asks"][:1000] == final["asks"][:1000]


async def test_one_second_depth_merges_the_100ms_diffs(venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/stream?streams=btcusdt@depth/btcusdt@depth@100ms"
                       ) as ws:
        await venue.replay.advance(5000)
        messages = await drain(ws)

    fast = [m["data"] for m in messages if m["stream"] == "btcusdt@depth@100ms"]
    slow = [m["data"] for m in messages if m["stream"] == "btcusdt@depth"]
    assert 3 <= len(slow) < len(fast)
    assert all(b["U"] == a["u"] + 1 for a, b in itertools.pairwise(slow))
    assert slow[0]["U"] == fast[0]["U"]


async def test_ticker_streams_push_24hr_statistics(venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/stream?streams=ethusdt@ticker/ethusdt@miniTicker") as ws:
        await venue.replay.advance(3000)
        messages = await drain(ws)

    tickers = [m["data"] for m in messages if m["stream"] == "ethusdt@ticker"]
    minis = [m["data"] for m in messages if m["stream"] == "ethusdt@miniTicker"]
    assert tickers[0].keys() == fixture("spot/ws/24hrTicker.json").keys()
    assert minis[0]["e"] == "24hrMiniTicker" and len(tickers) == len(minis) >= 2
    assert all(b["E"] - a["E"] >= 1000 for a, b in itertools.pairwise(tickers))


async def test_partial_book_depth_stream(venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/ws/btcusdt@depth5@100ms") as ws:
        await venue.replay.step(200)
        message = (await drain(ws))[-1]

    assert message.keys() == {"lastUpdateId", "bids", "asks"}
    assert len(message["bids"]) == len(message["asks"]) == 5


async def test_unknown_names_in_the_path_carry_nothing_and_dead_listen_keys_are_refused(
        venue: RunningVenue) -> None:
    # ccxt.pro connects to /ws/<counter> and subscribes afterwards, as Binance allows.
    async with connect(f"{venue.ws_url}/ws/1") as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}')
        assert await recv_json(ws) == {"result": None, "id": 1}
        await venue.replay.step(50)
        assert (await recv_until(ws, lambda m: m.get("e") == "trade"))["s"] == "BTCUSDT"
    with pytest.raises(InvalidStatus):
        async with connect(f"{venue.ws_url}/ws/{'k' * 60}"):
            pass


async def _raw_session(url: str, answer_pings: bool, seconds: float) -> tuple[int, int | None]:
    """Talk WebSocket by hand, answering pings or not; return (pings seen, close code)."""
    uri = parse_uri(url)
    reader, writer = await asyncio.open_connection(uri.host, uri.port)
    protocol = ClientProtocol(uri)
    protocol.send_request(protocol.connect())
    writer.write(b"".join(protocol.data_to_send()))
    pings, code = 0, None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        while (left := deadline - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not data:
                break
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.PING:
                    pings += 1
                if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                    code = Close.parse(event.data).code
            outgoing = [chunk for chunk in protocol.data_to_send() if chunk]
            if answer_pings and outgoing:
                writer.write(b"".join(outgoing))  # the protocol's automatic pong
    finally:
        writer.close()
    return pings, code


async def test_server_pings_and_drops_a_client_that_never_pongs(data_dir: Path) -> None:
    running = await serve(paused(data_dir, symbols=("BTCUSDT",), ws_ping_interval=0.15,
                                 ws_ping_timeout=0.25))
    try:
        url = f"{running.ws_url}/ws/btcusdt@trade"
        polite, silent = await asyncio.gather(_raw_session(url, True, 0.8),
                                              _raw_session(url, False, 0.8))
    finally:
        await running.stop()

    assert polite[0] >= 3 and polite[1] is None  # answered every ping: still connected
    assert silent[0] >= 1 and silent[1] == 1011  # "keepalive ping timeout"
