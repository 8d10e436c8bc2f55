"""Market replay: the recorded data, the clock, loop mode and klines built from trades."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from adapters.exchanges.fake_venue import FakeVenueConfig, RunningVenue, serve
from adapters.exchanges.fake_venue.klines import close_time, open_time
from adapters.exchanges.fake_venue.recording import (
    BookResetEvent,
    DepthEvent,
    MarketEvent,
    TradeEvent,
    load_recording,
)
from adapters.exchanges.fake_venue.replay import Replayer
from tests.adapters.exchanges.fake_venue.conftest import paused
from tests.adapters.exchanges.fake_venue.support import connect, drain, now_ms, recv_json


def test_recording_continues_the_snapshot_and_keeps_trade_ids_contiguous(data_dir: Path) -> None:
    rec = load_recording(data_dir, "BTCUSDT", "BTC", "USDT")

    diffs = [e for e in rec.events if isinstance(e, DepthEvent)]
    trades = [e for e in rec.events if isinstance(e, TradeEvent)]

    assert diffs[0].first_id == rec.snapshot_id + 1
    assert all(b.first_id == a.last_id + 1 for a, b in itertools.pairwise(diffs))
    assert [t.trade_id for t in trades] == list(range(trades[0].trade_id,
                                                      trades[0].trade_id + len(trades)))
    assert all(a.ts <= b.ts for a, b in zip(rec.events, rec.events[1:], strict=False))
    assert len(trades) == 19_904  # PROVENANCE.md: every recorded trade is replayed


def test_speed_scales_recorded_time_onto_venue_time(data_dir: Path) -> None:
    rec = load_recording(data_dir, "ETHUSDT", "ETH", "USDT")
    replayer = Replayer([rec], lambda _e: None, speed=10.0, loop=True, anchor_ms=1_000_000)

    start = replayer.rec_start

    assert replayer.venue_ts(start, 0) == 1_000_000
    assert replayer.venue_ts(start + 10_000, 0) == 1_001_000
    assert replayer.venue_ts(start, 1) == 1_000_000 + round(replayer.period / 10)


def test_loop_mode_shifts_times_and_ids_forward_without_gaps(data_dir: Path) -> None:
    rec = load_recording(data_dir, "ETHUSDT", "ETH", "USDT")
    seen: list[MarketEvent] = []
    replayer = Replayer([rec], seen.append, speed=None, loop=True, anchor_ms=0)
    total = len(replayer.timeline)

    asyncio.run(replayer.step(total + 50))

    trades = [e.trade_id for e in seen if isinstance(e, TradeEvent)]
    resets = [e for e in seen if isinstance(e, BookResetEvent)]
    book_ids = [(e.first_id, e.last_id) if isinstance(e, DepthEvent) else
                (e.update_id, e.update_id) for e in seen
                if isinstance(e, DepthEvent | BookResetEvent)]
    assert replayer.pass_index == 1 and len(resets) == 1
    assert trades == list(range(trades[0], trades[0] + len(trades)))  # across the loop
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(book_ids))
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(seen))
    assert seen[-1].ts > replayer.period  # the second pass runs later, not over the first


async def test_loop_restart_keeps_streams_gap_free_and_the_local_book_right(
        data_dir: Path) -> None:
    venue = await serve(paused(data_dir, symbols=("ETHUSDT",)))
    try:
        async with httpx.AsyncClient(base_url=venue.rest_url) as http:
            # Arrange: stop just before the end of the first pass, then listen.
            await venue.replay.step(len(venue.replay.timeline) - 400)
            streams = "ethusdt@trade/ethusdt@depth@100ms"
            async with connect(f"{venue.ws_url}/stream?streams={streams}") as ws:
                snapshot = (await http.get("/api/v3/depth",
                                           params={"symbol": "ETHUSDT", "limit": 5000})).json()

                # Act: cross into the second pass.
                await venue.replay.step(1200)
                messages = await drain(ws)
                final = (await http.get("/api/v3/depth",
                                        params={"symbol": "ETHUSDT", "limit": 5000})).json()
    finally:
        await venue.stop()

    # Assert: trade ids and depth ids run on without a gap, times never go back.
    trades = [m["data"] for m in messages if m["stream"] == "ethusdt@trade"]
    diffs = [m["data"] for m in messages if m["stream"] == "ethusdt@depth@100ms"]
    assert venue.replay.pass_index == 1
    assert [t["t"] for t in trades] == list(range(trades[0]["t"], trades[0]["t"] + len(trades)))
    assert all(b["U"] == a["u"] + 1 for a, b in itertools.pairwise(diffs))
    assert all(a["E"] <= b["E"] for a, b in itertools.pairwise(diffs))
    book = local_book(snapshot, diffs)
    assert book["lastUpdateId"] == final["lastUpdateId"]
    assert book["bids"][:1000] == final["bids"][:1000]
    assert book["asks"][:1000] == final["asks"][:1000]


def local_book(snapshot: dict[str, Any], diffs: list[dict[str, Any]]) -> dict[str, Any]:
    """Build a book by Binance's procedure: drop u <= lastUpdateId, chain U = u + 1."""
    last = snapshot["lastUpdateId"]
    sides = {"b": dict(snapshot["bids"]), "a": dict(snapshot["asks"])}
    usable = [d for d in diffs if d["u"] > last]
    assert usable[0]["U"] <= last + 1 <= usable[0]["u"]
    for diff in usable:
        for key in ("b", "a"):
            for price, qty in diff[key]:
                if Decimal(qty) == 0:
                    sides[key].pop(price, None)
                else:
                    sides[key][price] = qty
        last = diff["u"]
    return {"lastUpdateId": last,
            "bids": [[p, q] for p, q in sorted(sides["b"].items(), key=lambda x: -float(x[0]))],
            "asks": [[p, q] for p, q in sorted(sides["a"].items(), key=lambda x: float(x[0]))]}


async def test_klines_are_built_from_the_replayed_trades(
        venue: RunningVenue, http: httpx.AsyncClient) -> None:
    async with connect(f"{venue.ws_url}/ws/btcusdt@trade") as ws:
        await asyncio.sleep(0.05)
        await venue.replay.advance(150_000)  # two and a half recorded minutes
        trades = await drain(ws)

    rows = (await http.get("/api/v3/klines",
                           params={"symbol": "BTCUSDT", "interval": "1m"})).json()

    assert len(rows) == 3
    for row in rows:
        inside = [t for t in trades if row[0] <= t["T"] <= row[6]]
        prices = [Decimal(t["p"]) for t in inside]
        assert Decimal(row[1]) == prices[0] and Decimal(row[4]) == prices[-1]
        assert Decimal(row[2]) == max(prices) and Decimal(row[3]) == min(prices)
        assert Decimal(row[5]) == sum(Decimal(t["q"]) for t in inside)
        assert row[8] == len(inside)
        assert Decimal(row[9]) == sum(Decimal(t["q"]) for t in inside if not t["m"])


async def test_kline_stream_pushes_updates_and_the_closed_kline(venue: RunningVenue) -> None:
    async with connect(f"{venue.ws_url}/ws/btcusdt@kline_1m") as ws:
        await asyncio.sleep(0.05)
        await venue.replay.advance(65_000)
        events = await drain(ws)

    closed = [e for e in events if e["k"]["x"]]
    assert closed and all(e["e"] == "kline" and e["k"]["i"] == "1m" for e in events)
    assert closed[0]["k"]["T"] - closed[0]["k"]["t"] == 59_999
    pushes = [e["E"] for e in events if not e["k"]["x"]]
    assert all(b - a >= 2000 for a, b in itertools.pairwise(pushes))


async def test_paced_replay_stamps_events_near_the_wall_clock(data_dir: Path) -> None:
    running = await serve(FakeVenueConfig(data_dir=data_dir, speed=20.0, symbols=("BTCUSDT",)))
    try:
        async with connect(f"{running.ws_url}/ws/btcusdt@bookTicker") as ws:
            first = await recv_json(ws)
            lags = []
            for _ in range(20):
                message = await recv_json(ws)
                lags.append(abs(now_ms() - running.venue.now_ms()))
            assert first["s"] == "BTCUSDT" and message["u"] > first["u"]
        assert max(lags) < 500
        assert running.replay.status()["autoplay"]
    finally:
        await running.stop()


async def test_as_fast_as_possible_runs_ahead(data_dir: Path) -> None:
    running = await serve(FakeVenueConfig(data_dir=data_dir, speed=None, symbols=("ETHUSDT",),
                                          loop=False))
    try:
        await asyncio.sleep(0.5)
        assert running.replay.events_done > 5000
    finally:
        await running.stop()


def test_kline_intervals_open_on_binance_boundaries() -> None:
    thursday = 1_723_161_255_342  # 2024-08-08T23:54:15.342Z

    assert open_time("1m", thursday) == 1_723_161_240_000
    assert open_time("1w", thursday) == 1_722_816_000_000  # Monday 2024-08-05
    assert open_time("1M", thursday) == 1_722_470_400_000  # 2024-08-01
    assert close_time("1M", 1_722_470_400_000) == 1_725_148_799_999  # 2024-08-31T23:59:59.999
    assert close_time("1d", 1_723_075_200_000) - 1_723_075_200_000 == 86_399_999
