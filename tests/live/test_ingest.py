"""Trade ingestion: batches reach PostgreSQL exactly once, even when the server goes away."""

from __future__ import annotations

import asyncio
import csv
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from adapters.storage.connect import app_dsn
from adapters.storage.embedded import EmbeddedPostgres
from adapters.storage.migrate import migrate
from adapters.storage.trades import TradeStore
from adapters.telemetry.ingest_metrics import IngestMetrics
from domain.fixed import decimal_places, parse_raw
from domain.instruments import InstrumentId
from domain.market import AggressorSide, Trade
from live.ingest import IngestConfig, TradeIngestor
from tests.conftest import SHARED_DATA

BTC = InstrumentId.parse("BINANCE:BTC/USDT")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TRADES_CSV = SHARED_DATA / "trades" / "binance_BTC-USDT_trades_20240808-20240809.csv"


def recorded_trades(limit: int | None = None) -> list[Trade]:
    """The recorded real Binance trades as domain objects (fixed-point at the file's decimals)."""
    with TRADES_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:limit]
    price_dp = max(decimal_places(r["price"]) for r in rows)
    size_dp = max(decimal_places(r["qty"]) for r in rows)
    micros = timedelta(microseconds=1)
    return [Trade(BTC, (datetime.fromisoformat(r["ts"]) - EPOCH) // micros * 1000,
                  parse_raw(r["price"], price_dp), parse_raw(r["qty"], size_dp),
                  AggressorSide(r["side"]), r["trade_id"], price_dp, size_dp) for r in rows]


async def _count(dsn: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("select count(*), count(distinct trade_id) from trades")
        return int(row[0]), int(row[1])
    finally:
        await conn.close()


async def test_batches_are_stored_once_and_duplicates_are_counted(
    migrated_database: str, app_role: str,
) -> None:
    # Arrange
    trades = recorded_trades(3_000)
    pool = await asyncpg.create_pool(app_dsn(migrated_database, app_role), min_size=1,
                                     max_size=2)
    ingestor = TradeIngestor(TradeStore(pool), IngestMetrics.create(CollectorRegistry()),
                             IngestConfig(batch_size=500, flush_interval_s=0.05))
    runner = asyncio.create_task(ingestor.run())
    # Act: every trade twice (a replay after a restart), the second time in other batches
    for trade in trades + trades[::-1]:
        assert ingestor.offer(trade)
    await ingestor.stop()
    await runner
    await pool.close()
    # Assert
    assert await _count(migrated_database) == (3_000, 3_000)
    assert (ingestor.stored, ingestor.duplicates, ingestor.shed) == (3_000, 3_000, 0)


@pytest.fixture
def private_server() -> Iterator[EmbeddedPostgres]:
    """An embedded server of this test's own: it will be stopped mid-stream (never the shared
    one)."""
    home = Path(tempfile.mkdtemp(prefix="lockgate-ingest-"))
    home.chmod(0o755)
    server = EmbeddedPostgres(home / "state")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


async def test_postgres_restarted_mid_stream_loses_nothing(
    private_server: EmbeddedPostgres,
) -> None:
    # Arrange
    admin = private_server.ensure_running()
    await migrate(admin, app_role="lockgate_app")
    trades = recorded_trades()
    pool = await asyncpg.create_pool(app_dsn(admin, "lockgate_app"), min_size=1, max_size=2)
    ingestor = TradeIngestor(TradeStore(pool), IngestMetrics.create(CollectorRegistry()),
                             IngestConfig(batch_size=1_000, flush_interval_s=0.02,
                                          retry_initial_s=0.05, retry_max_s=0.5))
    runner = asyncio.create_task(ingestor.run())

    # Act: stream the trades; stop the server after the first batches, restart it later
    for i, trade in enumerate(trades):
        ingestor.offer(trade)
        if i == 3_000:
            await asyncio.sleep(0.3)  # let a few batches land
            await asyncio.to_thread(private_server.stop)
        if i % 500 == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(1.0)  # batches fail and wait while the server is down
    failures_while_down = ingestor.failures
    await asyncio.to_thread(private_server.ensure_running)
    await ingestor.stop()
    await asyncio.wait_for(runner, timeout=60)
    await pool.close()

    # Assert: every recorded trade exactly once
    assert failures_while_down > 0
    assert await _count(admin) == (len(trades), len(trades))
    assert ingestor.shed == 0
    assert ingestor.stored + ingestor.duplicates >= len(trades)


async def test_a_full_buffer_sheds_and_counts_never_silently() -> None:
    # Arrange: a sink that is down for good (a real store on a port nothing listens on)
    pool_dsn = "postgresql://nobody@127.0.0.1:1/none"

    class Unreachable(TradeStore):
        def __init__(self) -> None:
            super().__init__(None)  # type: ignore[arg-type]

        async def _copy(self, trades):  # type: ignore[no-untyped-def]
            await asyncpg.connect(pool_dsn, timeout=1)  # raises: connection refused
            return 0

    registry = CollectorRegistry()
    ingestor = TradeIngestor(Unreachable(), IngestMetrics.create(registry),
                             IngestConfig(batch_size=10, max_buffered=100, flush_interval_s=0.01,
                                          retry_initial_s=0.01, retry_max_s=0.02))
    runner = asyncio.create_task(ingestor.run())
    # Act
    accepted = [ingestor.offer(trade) for trade in recorded_trades(150)]
    await asyncio.sleep(0.1)
    runner.cancel()
    # Assert
    assert accepted.count(True) == 100
    assert ingestor.shed == 50
    assert registry.get_sample_value("lockgate_ingest_trades_total", {"outcome": "shed"}) == 50
    assert ingestor.failures > 0
