"""``lockgate ingest`` against the local venue (a separate process), into a database of its own."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.exchanges.fake_venue import DEMO_API_KEY, DEMO_SECRET_KEY
from adapters.storage.embedded import EmbeddedPostgres
from tests.conftest import REPO

LOCKGATE = str(Path(sys.executable).parent / "lockgate")


async def _rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(
            "select instrument_id, count(*) as n, count(distinct trade_id) as distinct_ids,"
            " max(trade_id::bigint) - min(trade_id::bigint) + 1 as span"
            " from trades group by instrument_id order by instrument_id")
    finally:
        await conn.close()


@pytest.fixture
def venue_urls() -> Iterator[dict[str, str]]:
    """The local venue in its own process, replaying the recorded market at 20x."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKGATE_")}
    venue = subprocess.Popen([LOCKGATE, "fake-venue", "--port", "0", "--speed", "20"],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert venue.stdout is not None
        yield json.loads(venue.stdout.readline())
    finally:
        venue.send_signal(signal.SIGTERM)
        venue.wait(timeout=30)


@pytest.fixture
def env(fresh_database: str, app_role: str, tmp_path: Path) -> dict[str, str]:
    """Lockgate pointed at a database of this test's own."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCKGATE_")}
    clean.update(LOCKGATE_DATABASE_URL=fresh_database, LOCKGATE_APP_ROLE=app_role,
                 LOCKGATE_HOME=str(tmp_path / "home"),
                 # The venue's documented demo key pair, through the secrets provider chain.
                 LOCKGATE_SECRET_BINANCE_API_KEY=DEMO_API_KEY,
                 LOCKGATE_SECRET_BINANCE_API_SECRET=DEMO_SECRET_KEY)
    return clean


def test_instruments_sync_stores_the_venues_filters_and_status(
    venue_urls: dict[str, str], env: dict[str, str], fresh_database: str,
) -> None:
    result = subprocess.run([LOCKGATE, "instruments", "sync", "--rest-url", venue_urls["rest"]],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                            check=False)

    assert result.returncode == 0, result.stderr
    rows = asyncio.run(_fetch(fresh_database, "select id, status, tick_size, step_size,"
                              " min_notional, price_precision from instruments order by id"))
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"BINANCE:BTC/USDT", "BINANCE:ETH/USDT"}
    btc = by_id["BINANCE:BTC/USDT"]
    assert btc["status"] == "TRADING"
    assert btc["tick_size"] > 0 and btc["step_size"] > 0 and btc["min_notional"] > 0
    assert btc["price_precision"] == 8


async def _fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    return sum(value for (n, have), value in samples.items()
               if n == name and set(labels.items()) <= set(have))


def _until(condition: Callable[[], bool], seconds: float, what: str,
           process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline or (process is not None and process.poll() is not None):
            detail = ""
            if process is not None:
                process.kill()
                detail = "\n" + "".join(process.communicate(timeout=30))[-3000:]
            raise AssertionError(f"timed out waiting for {what}{detail}")
        time.sleep(0.25)


def _start_ingest(urls: dict[str, str], env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """``lockgate ingest`` of BTC and ETH from the venue, serving /metrics on ``port``."""
    return subprocess.Popen(
        [LOCKGATE, "ingest", "--symbols", "BTC/USDT,ETH/USDT", "--rest-url", urls["rest"],
         "--ws-url", urls["ws"], "--metrics-port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    try:
        return _samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    except httpx.TransportError:  # not listening yet
        return {}


def _metric(port: int, name: str, **labels: str) -> float:
    return _total(_scrape(port), name, **labels)


def test_ingest_stores_the_venues_trades_once_each_with_no_gap_across_a_cut(
    venue_urls: dict[str, str], env: dict[str, str], fresh_database: str,
) -> None:
    urls, port = venue_urls, _free_port()
    ingest = _start_ingest(urls, env, port)
    _until(lambda: _metric(port, "lockgate_ingest_trades_total", outcome="stored") > 0, 60,
           "the first stored trades", ingest)
    # Act: the venue kills the market connections mid-stream
    dropped = httpx.post(f"{urls['rest']}/_control/faults/drop_connections",
                         json={"channel": "market"}, timeout=10).json()
    _until(lambda: _metric(port, "lockgate_feed_reconnects_total") >= 1
           and _metric(port, "lockgate_feed_gaps_filled_total") >= 1, 60,
           "a reconnect whose gap was filled", ingest)
    time.sleep(1)
    ingest.send_signal(signal.SIGTERM)
    out, err = ingest.communicate(timeout=120)
    # Assert: both instruments stored, every trade once, ids contiguous (no gap): what the cut
    # lost came back over REST (historicalTrades) before live trades resumed
    assert ingest.returncode == 0, err
    assert "bus: postgres" in out
    assert dropped["result"] >= 1  # the ingest's market connection was among those cut
    rows = asyncio.run(_rows(fresh_database))
    assert [r["instrument_id"] for r in rows] == ["BINANCE:BTC/USDT", "BINANCE:ETH/USDT"]
    for row in rows:
        assert row["n"] > 10
        assert row["n"] == row["distinct_ids"] == row["span"]


def test_backfill_pages_history_and_resumes_where_the_stored_data_ends(
    venue_urls: dict[str, str], env: dict[str, str], fresh_database: str,
) -> None:
    # Arrange: let the venue replay a few seconds of market, then a minute at once (so at
    # least one 1m candle has closed by the venue's clock)
    time.sleep(4)
    advanced = httpx.post(f"{venue_urls['rest']}/_control/replay/advance", json={"ms": 61_000},
                          timeout=60)
    assert advanced.status_code == 200, advanced.text
    now = datetime.now(tz=UTC)
    window = ["--since", (now - timedelta(days=1)).isoformat(),
              "--until", (now + timedelta(days=1)).isoformat(), "--rest-url", venue_urls["rest"]]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([LOCKGATE, "backfill", "--symbol", "BTC/USDT", *args, *window],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    # Act
    first_trades = run("--trades")
    again_trades = run("--trades")
    candles = run("--timeframe", "1m")
    again_candles = run("--timeframe", "1m")
    # Assert
    for result in (first_trades, again_trades, candles, again_candles):
        assert result.returncode == 0, result.stderr
    stored = asyncio.run(_fetch(fresh_database, "select count(*) as n, count(distinct trade_id)"
                                " as d, max(trade_id::bigint) - min(trade_id::bigint) + 1 as span"
                                " from trades"))[0]
    # The venue keeps trading: the second run resumes after the first and adds only what came
    # since, and together they hold every trade once, ids contiguous.
    new = lambda result: int(result.stdout.split()[0])  # noqa: E731
    assert new(first_trades) > 100
    assert stored["n"] == new(first_trades) + new(again_trades) == stored["d"] == stored["span"]
    bars = asyncio.run(_fetch(fresh_database, "select count(*) as n, count(distinct open_at)"
                              " as d from exchange_candles"))[0]
    assert new(candles) >= 1
    assert bars["n"] == bars["d"] == new(candles) + new(again_candles)


def test_ingest_counts_duplicated_reordered_and_malformed_frames_and_loses_nothing(
    venue_urls: dict[str, str], env: dict[str, str], fresh_database: str,
) -> None:
    urls, port = venue_urls, _free_port()
    control = httpx.Client(base_url=f"{urls['rest']}/_control", timeout=10)
    ingest = _start_ingest(urls, env, port)
    _until(lambda: _metric(port, "lockgate_feed_events_total", stream="btcusdt@trade") > 0,
           60, "the first trades", ingest)
    # Act: the venue repeats, swaps and corrupts BTC trade frames, one fault after the other
    # (each consumed before the next, so every frame is classified by one fault alone)...
    for fault in ("duplicate", "reorder", "malformed"):
        answer = control.post(f"/faults/{fault}", json={
            "n": 5, "channel": "market", "stream": "btcusdt@trade"})
        assert answer.status_code == 200, answer.text
        _until(lambda: not control.get("/faults").json()["counts"], 60, f"{fault} frames",
               ingest)
    # ...then cuts the connection
    dropped = control.post("/faults/drop_connections", json={"channel": "market"}).json()
    _until(lambda: (_total(samples := _scrape(port), "lockgate_feed_reconnects_total") >= 1
                    and _total(samples, "lockgate_bus_stream_length_messages") > 0),
           60, "a reconnect and a stream length sample", ingest)
    samples = _scrape(port)
    ingest.send_signal(signal.SIGTERM)
    out, err = ingest.communicate(timeout=120)
    # Assert: every bad frame was refused and counted...
    assert ingest.returncode == 0, err
    assert dropped["result"] >= 1
    assert _total(samples, "lockgate_feed_rejected_total", reason="duplicate") == 5
    assert _total(samples, "lockgate_feed_rejected_total", reason="out_of_order") == 5
    assert _total(samples, "lockgate_feed_parse_errors_total", reason="malformed_json") == 5
    assert _total(samples, "lockgate_feed_reconnects_total") >= 1
    assert _total(samples, "lockgate_bus_stream_length_messages",
                  stream="md.trades.BINANCE:BTC/USDT") > 0
    assert ("lockgate_ingest_lag_seconds", ()) in samples
    # ...and nothing else was lost: PostgreSQL and the bus hold every trade id once
    rows = asyncio.run(_rows(fresh_database))
    assert [r["instrument_id"] for r in rows] == ["BINANCE:BTC/USDT", "BINANCE:ETH/USDT"]
    for row in rows:
        assert row["n"] > 100
        assert row["n"] == row["distinct_ids"] == row["span"]
    bus = asyncio.run(_fetch(fresh_database, (
        "select stream, count(distinct convert_from(envelope, 'UTF8')::jsonb #>> "
        "'{payload,trade_id}') as n from events where stream like 'md.trades.%'"
        " group by stream order by stream")))
    assert [(b["stream"], b["n"]) for b in bus] == [
        (f"md.trades.{r['instrument_id']}", r["n"]) for r in rows]
    assert "0 failed writes" in out


@pytest.fixture
def private_home() -> Iterator[Path]:
    """A Lockgate home whose embedded PostgreSQL this test may stop (never the shared server)."""
    home = Path(tempfile.mkdtemp(prefix="lockgate-ingest-home-"))
    home.chmod(0o755)  # the embedded server runs as its own system user when we are root
    try:
        yield home
    finally:
        EmbeddedPostgres(home).stop()
        shutil.rmtree(home, ignore_errors=True)


def test_ingest_rides_out_a_postgres_restart_and_loses_nothing(
    venue_urls: dict[str, str], env: dict[str, str], private_home: Path,
) -> None:
    # Arrange: the embedded default (database and bus in PostgreSQL), in a home of our own
    server = EmbeddedPostgres(private_home)
    admin = server.ensure_running()
    env = {k: v for k, v in env.items() if k not in ("LOCKGATE_DATABASE_URL", "LOCKGATE_APP_ROLE")}
    env["LOCKGATE_HOME"] = str(private_home)
    urls, port = venue_urls, _free_port()
    ingest = _start_ingest(urls, env, port)

    def metric(name: str, **labels: str) -> float:
        return _metric(port, name, **labels)

    _until(lambda: metric("lockgate_ingest_trades_total", outcome="stored") > 0, 60,
           "the first stored trades", ingest)
    # Act: PostgreSQL goes away for a few seconds mid-stream, then comes back
    server.stop()
    _until(lambda: metric("lockgate_ingest_flush_failures_total") > 0
           and metric("lockgate_ingest_publish_failures_total") > 0, 30,
           "writes failing while the server is down", ingest)
    time.sleep(2)
    server.ensure_running()
    stored_before = metric("lockgate_ingest_trades_total", outcome="stored")
    _until(lambda: metric("lockgate_ingest_trades_total", outcome="stored") > stored_before
           and metric("lockgate_ingest_buffered_trades") < 5_000, 60, "ingestion to resume",
           ingest)
    time.sleep(2)
    ingest.send_signal(signal.SIGTERM)
    out, err = ingest.communicate(timeout=120)
    # Assert: every trade once in the table and on the bus, none shed or dropped
    assert ingest.returncode == 0, err
    rows = asyncio.run(_rows(admin))
    assert [r["instrument_id"] for r in rows] == ["BINANCE:BTC/USDT", "BINANCE:ETH/USDT"]
    for row in rows:
        assert row["n"] == row["distinct_ids"] == row["span"]
    bus = asyncio.run(_fetch(admin, (
        "select stream, count(distinct convert_from(envelope, 'UTF8')::jsonb #>> "
        "'{payload,trade_id}') as n from events where stream like 'md.trades.%'"
        " group by stream order by stream")))
    assert [(b["stream"], b["n"]) for b in bus] == [
        (f"md.trades.{r['instrument_id']}", r["n"]) for r in rows]
    assert "0 trades and" in out  # nothing dropped from the bus side
