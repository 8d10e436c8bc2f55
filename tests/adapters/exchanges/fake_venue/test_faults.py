"""Fault injection: in-process calls, the HTTP control API, and the venue as its own process."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from adapters.exchanges.fake_venue import RunningVenue
from tests.adapters.exchanges.fake_venue.support import connect, drain

REPO = Path(__file__).resolve().parents[4]


async def _trades(venue: RunningVenue, events: int = 400) -> list[str]:
    """Step the replay and return the raw trade messages one raw connection got."""
    async with connect(f"{venue.ws_url}/ws/btcusdt@trade") as ws:
        await asyncio.sleep(0.02)
        await venue.replay.step(events)
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":"end"}')  # answered after the data
        raw: list[str] = []
        while '"id":"end"' not in (text := str(await asyncio.wait_for(ws.recv(), 5))):
            raw.append(text)
        return raw


async def test_duplicate_sends_messages_twice(venue: RunningVenue) -> None:
    venue.faults.duplicate(2)

    raw = await _trades(venue)

    ids = [json.loads(m)["t"] for m in raw]
    assert ids[:4] == [ids[0], ids[0], ids[2], ids[2]] and ids[2] == ids[0] + 1
    assert ids[4:] == list(range(ids[2] + 1, ids[2] + 1 + len(ids) - 4))


async def test_reorder_swaps_a_message_with_the_next(venue: RunningVenue) -> None:
    venue.faults.reorder(1)

    ids = [json.loads(m)["t"] for m in await _trades(venue)]

    assert ids[:3] == [ids[1] + 1, ids[1], ids[1] + 2]


async def test_malformed_cuts_messages(venue: RunningVenue) -> None:
    venue.faults.malformed(1)

    raw = await _trades(venue)

    with pytest.raises(ValueError):
        json.loads(raw[0])
    assert all(json.loads(m)["e"] == "trade" for m in raw[1:])


async def test_faults_aimed_at_one_stream_leave_the_others_alone(venue: RunningVenue) -> None:
    # Arrange: one combined connection with trades and book tickers interleaved
    venue.faults.reorder(3, stream="btcusdt@trade")
    venue.faults.duplicate(2, stream="btcusdt@trade")
    async with connect(f"{venue.ws_url}/stream?streams=btcusdt@trade/btcusdt@bookTicker") as ws:
        await asyncio.sleep(0.02)
        # Act
        await venue.replay.step(600)
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":"end"}')
        frames = []
        while '"id":"end"' not in (text := str(await asyncio.wait_for(ws.recv(), 5))):
            frames.append(json.loads(text))
    # Assert: tickers untouched; trades swapped in pairs of their own stream, two repeated
    tickers = [f["data"]["u"] for f in frames if f["stream"] == "btcusdt@bookTicker"]
    trades = [f["data"]["t"] for f in frames if f["stream"] == "btcusdt@trade"]
    assert tickers == sorted(set(tickers)) and len(tickers) > 10
    first = min(trades)
    # held t0; t1 (repeated) then t0; held t2; t3 (repeated) then t2; held t4; t5 then t4
    assert [t - first for t in trades[:9]] == [1, 1, 0, 3, 3, 2, 5, 4, 6]
    assert len(trades) == len(set(trades)) + 2
    assert sorted(set(trades)) == list(range(first, first + len(set(trades))))


async def test_stall_silences_then_resumes_and_delay_holds_each_message(
        venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/ws/btcusdt@bookTicker") as ws:
        venue.faults.stall(0.6)
        started = time.monotonic()
        await venue.replay.step(20)
        first = await asyncio.wait_for(ws.recv(), 3)
        stalled_for = time.monotonic() - started
        await drain(ws)

        venue.faults.delay(250, "market")
        started = time.monotonic()
        await venue.replay.step(10)
        await asyncio.wait_for(ws.recv(), 3)
        delayed_for = time.monotonic() - started

    assert json.loads(first)["s"] == "BTCUSDT"
    assert 0.5 <= stalled_for < 2.0
    assert 0.2 <= delayed_for < 1.5


async def test_drop_connections_closes_every_socket(venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/ws/btcusdt@trade") as one, \
            connect(f"{venue.ws_url}/stream?streams=ethusdt@trade") as two:
        await asyncio.sleep(0.05)
        dropped = venue.faults.drop_connections()
        for ws in (one, two):
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001

    assert dropped == 2


async def test_http_error_answers_the_next_requests_with_a_status(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    venue.faults.http_error(503, 2)

    first = await http.get("/api/v3/ping")
    second = await http.get("/api/v3/time")
    third = await http.get("/api/v3/ping")

    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json()["code"] == -1008


async def test_the_http_control_api_switches_faults_and_steps_the_replay(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    switched = await http.post("/_control/faults/http_error", json={"status": 500, "n": 1})
    refused = await http.get("/api/v3/ping")
    stepped = await http.post("/_control/replay/step", json={"n": 25})
    unknown = await http.post("/_control/faults/explode", json={})
    wrong = await http.post("/_control/faults/stall", json={"minutes": 1})
    state = (await http.get("/_control/status")).json()
    cleared = await http.post("/_control/faults/clear")

    assert switched.status_code == 200 and refused.status_code == 500
    assert stepped.json()["events"] == 25 and state["replay"]["eventsDelivered"] == 25
    assert unknown.status_code == 404 and wrong.status_code == 400
    assert cleared.json()["faults"]["httpError"]["left"] == 0


async def test_the_venue_runs_as_a_process_with_a_control_endpoint(data_dir: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adapters.exchanges.fake_venue", "--port", "0", "--paused",
        "--symbols", "BTCUSDT", "--data-dir", str(data_dir), cwd=REPO,
        stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        urls = json.loads(await asyncio.wait_for(process.stdout.readline(), 20))
        async with httpx.AsyncClient(base_url=urls["rest"]) as http:
            stepped = await http.post("/_control/replay/step", json={"n": 100})
            dropped = await http.post("/_control/faults/drop_connections", json={})
            depth = await http.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 1})
    finally:
        process.terminate()
        code = await asyncio.wait_for(process.wait(), 10)

    assert urls["ws"].startswith("ws://127.0.0.1:") and urls["wsApi"].endswith("/ws-api/v3")
    assert stepped.json()["replay"]["eventsDelivered"] == 100
    assert dropped.json()["result"] == 0
    assert depth.json()["lastUpdateId"] > 50093239218
    assert code == 0
