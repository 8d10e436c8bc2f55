"""Bench: trade ingestion into PostgreSQL and market events onto Redis Streams, with baselines.

1. 1M recorded-shape Binance trades as combined-stream WebSocket JSON -> parsed and validated
   (``BinanceParser``) -> PostgreSQL through the ingestion path (``TradeIngestor`` with the
   idempotent ``TradeStore``), against raw asyncpg ``copy_records_to_table`` of the same
   already-parsed rows, both in 10k batches into the same ``trades`` table (same indexes and
   constraints; truncated between the two). Goal: ratio >= 0.7.
2. The same trades as ``market.trade`` envelopes through ``MarketPublisher`` on ``RedisBus``,
   against redis-py's synchronous pipelined XADD of the same encoded events (1000 a batch).
   Goal: ratio >= 0.75.

Both sides of each pair must store the same rows / stream entries before a figure is printed.
Needs the PostgreSQL and Redis servers of the project's machines (or LOCKGATE_BENCH_ADMIN_DSN,
LOCKGATE_BENCH_REDIS_URL). Last line: ``ingest_ratio_vs_copy=<x> bus_ratio_vs_pipeline=<y>``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapters.bus.memory import InMemoryHotState  # noqa: E402
from adapters.bus.redis import RedisBus  # noqa: E402
from adapters.exchanges.binance.parse import BinanceParser  # noqa: E402
from adapters.storage.connect import app_dsn  # noqa: E402
from adapters.storage.migrate import migrate  # noqa: E402
from adapters.storage.trades import TradeStore  # noqa: E402
from adapters.telemetry.ingest_metrics import IngestMetrics  # noqa: E402
from domain.instruments import Instrument, InstrumentId, InstrumentKind  # noqa: E402
from domain.market import Trade  # noqa: E402
from live.ingest import IngestConfig, TradeIngestor  # noqa: E402
from live.publish import MarketPublisher, trade_stream  # noqa: E402

ADMIN = os.environ.get("LOCKGATE_BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("LOCKGATE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TRADES = (REPO.parent / "shared" / "data" / "trades"
          / "binance_BTC-USDT_trades_20240808-20240809.csv")
BTC = Instrument(InstrumentId("BINANCE", "BTC", "USDT"), InstrumentKind.SPOT, 2, 8)
BATCH = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def frames(n: int) -> list[bytes]:
    """Loop the recorded trades, shifting ids and times forward, as combined-stream JSON."""
    with TRADES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    first_ms = _ms(rows[0]["ts"])
    span_ms = _ms(rows[-1]["ts"]) - first_ms + 1
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        loop = i // len(rows)
        t = _ms(row["ts"]) + loop * span_ms
        out.append(msgspec.json.encode({"stream": "btcusdt@trade", "data": {
            "e": "trade", "E": t, "s": "BTCUSDT", "t": int(row["trade_id"]) + loop * len(rows),
            "p": f"{Decimal(row['price']):.8f}", "q": f"{Decimal(row['qty']):.8f}", "T": t,
            "m": row["side"] == "sell", "M": True}}))
    return out


def _ms(iso: str) -> int:
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(milliseconds=1)


def parse_all(raw: list[bytes]) -> list[Trade]:
    """Parse and validate frames into domain trades (what the feed does)."""
    parser = BinanceParser([BTC], ["btcusdt@trade"])
    trades = []
    for frame in raw:
        item = parser.parse_frame(frame, 0).item
        assert isinstance(item, Trade)
        trades.append(item)
    return trades


async def ours_pg(dsn: str, raw: list[bytes]) -> float:
    """Frames -> parse -> TradeIngestor -> PostgreSQL; return seconds."""
    from prometheus_client import CollectorRegistry

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    start = time.perf_counter()
    ingestor = TradeIngestor(TradeStore(pool), IngestMetrics.create(CollectorRegistry()),
                             IngestConfig(batch_size=BATCH, flush_interval_s=0.5,
                                          max_buffered=len(raw)))
    runner = asyncio.create_task(ingestor.run())
    parser = BinanceParser([BTC], ["btcusdt@trade"])
    for i, frame in enumerate(raw):
        item = parser.parse_frame(frame, 0).item
        assert isinstance(item, Trade)
        ingestor.offer(item)
        if not i % 256:
            # A live feed awaits its socket between frames; yielding as often lets the writer
            # run its statements while PostgreSQL (the other core) inserts the previous batch.
            await asyncio.sleep(0)
    await ingestor.stop()
    await runner
    seconds = time.perf_counter() - start
    await pool.close()
    assert ingestor.stored == len(raw), (ingestor.stored, len(raw))
    return seconds


async def baseline_pg(dsn: str, trades: list[Trade]) -> float:
    """Already-parsed rows -> copy_records_to_table in 10k batches; return seconds."""
    records = [(str(t.instrument_id), t.trade_id,
                EPOCH + timedelta(microseconds=t.ts_event // 1000),
                Decimal(t.price).scaleb(-t.price_precision),
                Decimal(t.size).scaleb(-t.size_precision), t.aggressor.value) for t in trades]
    conn = await asyncpg.connect(dsn)
    start = time.perf_counter()
    for i in range(0, len(records), BATCH):
        await conn.copy_records_to_table(
            "trades", records=records[i:i + BATCH],
            columns=("instrument_id", "trade_id", "traded_at", "price", "qty", "aggressor"))
    seconds = time.perf_counter() - start
    await conn.close()
    return seconds


async def ours_bus(trades: list[Trade], prefix: str) -> float:
    """Trades -> MarketPublisher -> RedisBus.append_many; return seconds."""
    bus = await RedisBus.connect(REDIS, prefix=prefix, maxlen=len(trades) * 2)
    publisher = MarketPublisher(bus, InMemoryHotState())
    start = time.perf_counter()
    for i in range(0, len(trades), 1_000):
        await publisher.publish_trades(trades[i:i + 1_000])
    seconds = time.perf_counter() - start
    length = await bus._client.xlen(bus.stream_key(trade_stream(str(BTC.id))))
    await bus.close()
    assert length == len(trades), length
    return seconds


def baseline_bus(trades: list[Trade], prefix: str) -> float:
    """The same envelopes with redis-py's synchronous pipelined XADD; return seconds."""
    import redis

    from domain.messaging import Envelope, encode_envelope
    from domain.wire import SCHEMA_VERSION, TRADE_TYPE, trade_payload

    encoded = [encode_envelope(Envelope(
        id=f"BINANCE:BTC/USDT/trade/{t.trade_id}",
        type=TRADE_TYPE, schema_version=SCHEMA_VERSION, ts_event=t.ts_event,
        payload=trade_payload(t))) for t in trades]
    client = redis.Redis.from_url(REDIS)
    key = f"{prefix}baseline"
    start = time.perf_counter()
    for i in range(0, len(encoded), 1_000):
        pipe = client.pipeline(transaction=False)
        for data in encoded[i:i + 1_000]:
            pipe.xadd(key, {"e": data}, maxlen=len(trades) * 2, approximate=True)
        pipe.execute()
    seconds = time.perf_counter() - start
    assert client.xlen(key) == len(trades)
    client.close()
    return seconds


async def main() -> None:
    """Run both pairs in one process on fresh state; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    args = parser.parse_args()
    raw = frames(args.trades)
    trades = parse_all(raw)
    database = f"lockgate_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'create database "{database}"')
    dsn = ADMIN.rpartition("/")[0] + "/" + database
    prefix = f"lockgate-bench:{uuid.uuid4().hex[:8]}:"
    try:
        await migrate(dsn, app_role="lockgate_bench")
        app = app_dsn(dsn, "lockgate_bench")
        t_copy = await baseline_pg(app, trades)
        conn = await asyncpg.connect(dsn)
        await conn.execute("truncate trades")
        await conn.close()
        t_ours = await ours_pg(app, raw)
        print(f"postgres: copy_records_to_table {t_copy:.2f} s, ingestion path {t_ours:.2f} s "
              f"({args.trades / t_ours:,.0f} trades/s)", file=sys.stderr, flush=True)
        t_pipe = baseline_bus(trades, prefix)
        t_bus = await ours_bus(trades, prefix)
        print(f"redis: sync pipeline {t_pipe:.2f} s, publisher {t_bus:.2f} s", file=sys.stderr,
              flush=True)
    finally:
        await admin.execute(f'drop database if exists "{database}" with (force)')
        await admin.execute("drop role if exists lockgate_bench")
        await admin.close()
        import redis

        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.unlink(key)
        client.close()
    print(f"trades={args.trades} ingest_trades_per_s={round(args.trades / t_ours)} "
          f"ingest_ratio_vs_copy={t_copy / t_ours:.2f} bus_ratio_vs_pipeline={t_pipe / t_bus:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
