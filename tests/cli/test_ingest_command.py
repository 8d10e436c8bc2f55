"""``lockgate ingest`` against the local venue (a separate process), into a database of its own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from adapters.exchanges.fake_venue import DEMO_API_KEY, DEMO_SECRET_KEY
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


def test_ingest_stores_the_venues_trades_once_each_with_no_gap_across_a_cut(
    venue_urls: dict[str, str], env: dict[str, str], fresh_database: str,
) -> None:
    urls = venue_urls
    # Act: ingest for a while; the venue kills the market connections mid-stream
    ingest = subprocess.Popen(
        [LOCKGATE, "ingest", "--symbols", "BTC/USDT,ETH/USDT", "--rest-url", urls["rest"],
         "--ws-url", urls["ws"], "--duration", "8"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(5)
    dropped = httpx.post(f"{urls['rest']}/_control/faults/drop_connections",
                         json={"channel": "market"}, timeout=10).json()
    out, err = ingest.communicate(timeout=120)
    # Assert: both instruments stored, every trade once, ids contiguous (no gap): what the cut
    # lost came back over REST (historicalTrades) before live trades resumed
    assert ingest.returncode == 0, err
    assert "bus: postgres" in out
    assert dropped["result"] >= 1  # the ingest's market connection was among those cut
    rows = asyncio.run(_rows(fresh_database))
    assert [r["instrument_id"] for r in rows] == ["BINANCE:BTC/USDT", "BINANCE:ETH/USDT"]
    for row in rows:
        assert row["n"] > 100
        assert row["n"] == row["distinct_ids"] == row["span"]


def test_backfill_pages_history_and_resumes_where_the_stored_data_ends(
    venue_urls: dict[str, str], env: dict[str, str], fresh_database: str,
) -> None:
    # Arrange: let the venue replay a few seconds of market
    time.sleep(4)
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
    assert bars["n"] == bars["d"] == new(candles) + new(again_candles)
