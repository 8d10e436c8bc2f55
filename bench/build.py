"""Bench: 1m candles from trades by the dbt model, against plain SQL, first build and refresh.

5M trades in the recorded shape (the real BTC/USDT capture of ../shared/data, looped forward in
time with trade ids shifted and prices scaled by a seeded random walk per loop) are stored in
the ``trades`` table of a fresh database. Then, in the same run:

1. the plain-SQL baseline: ``INSERT ... SELECT ... GROUP BY`` of all trades into a candle table
   with the same primary key, with the server's settings and with the model's (no JIT, 64 MB
   work_mem), the faster counting.
   It computes the bars the model computes, the same way (aggregate per minute, then one index
   lookup each for the open and the close); the textbook single ``GROUP BY`` with ordered
   ``array_agg`` for open and close is timed too, for context;
2. the dbt model ``fct_candles_1m`` built from scratch (``dbt run``, as the application role);
   its time is the model's own ``execution_time`` in ``run_results.json`` (compile and execute,
   so dbt's start-up and parsing are not counted);
3. 1% more trades arrive (continuing the timeline; one in 500 of them 1 to 10 minutes late, into
   minutes already built) and the model is refreshed incrementally.

The two sides alternate, ``--repeat`` times each (three refreshes, each after another 1%), and
the best time of each counts: the machines this runs on are shared, and a single sample
measured the neighbours as much as the SQL.

Both sides must produce exactly the same candles, after the first build and after the refresh,
before a figure is printed. Goals: first build >= 0.8x the plain SQL's rows/s; the refresh
takes <= 0.05x the first build's time. Needs the PostgreSQL server of the project's machines
(or LOCKGATE_BENCH_ADMIN_DSN). Last line: ``candles_ratio_vs_sql=<x> incremental_ratio=<y>``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import re
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapters.storage.connect import app_dsn  # noqa: E402
from adapters.storage.migrate import migrate  # noqa: E402
from orchestration.dbt_profile import DEFAULT_SCHEMA, run_dbt  # noqa: E402

ADMIN = os.environ.get("LOCKGATE_BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
TRADES = (REPO.parent / "shared" / "data" / "trades"
          / "binance_BTC-USDT_trades_20240808-20240809.csv")
INSTRUMENT = "BINANCE:BTC/USDT"
ROLE = "lockgate_bench"
MODEL = "model.lockgate.fct_candles_1m"
CANDLE_COLUMNS = ("instrument_id, open_at, open, high, low, close, volume, quote_volume, vwap,"
                  " trade_count, taker_buy_volume")

CANDLE_TABLE = (
    "create table {name} (instrument_id text not null, open_at timestamptz not null,"
    " open numeric not null, high numeric not null, low numeric not null,"
    " close numeric not null, volume numeric not null, quote_volume numeric not null,"
    " vwap numeric not null, trade_count bigint not null, taker_buy_volume numeric not null,"
    " primary key (instrument_id, open_at))")

# The baseline: the model's computation as one plain statement.
PLAIN_SQL = f"""
insert into bench_candles_sql ({CANDLE_COLUMNS})
with aggregated as (
    select instrument_id,
           date_bin(interval '1 minute', traded_at, timestamptz '2000-01-03') as open_at,
           max(price) as high, min(price) as low,
           min(traded_at) as first_at, max(traded_at) as last_at,
           sum(qty) as volume, sum(price * qty) as quote_volume, count(*) as trade_count,
           coalesce(sum(qty) filter (where aggressor = 'buy'), 0) as taker_buy_volume
    from trades
    group by 1, 2
)
select a.instrument_id, a.open_at, o.price, a.high, a.low, c.price, a.volume, a.quote_volume,
       a.quote_volume / a.volume, a.trade_count, a.taker_buy_volume
from aggregated a
cross join lateral (
    select price from trades t
    where t.instrument_id = a.instrument_id and t.traded_at = a.first_at
    order by t.trade_id::numeric limit 1) o
cross join lateral (
    select price from trades t
    where t.instrument_id = a.instrument_id and t.traded_at = a.last_at
    order by t.trade_id::numeric desc limit 1) c
"""

# For context: the textbook statement, sorting every minute's trades twice.
NAIVE_SQL = f"""
insert into bench_candles_naive ({CANDLE_COLUMNS})
select instrument_id,
       date_bin(interval '1 minute', traded_at, timestamptz '2000-01-03'),
       (array_agg(price order by traded_at, trade_id::numeric))[1],
       max(price), min(price),
       (array_agg(price order by traded_at desc, trade_id::numeric desc))[1],
       sum(qty), sum(price * qty), sum(price * qty) / sum(qty), count(*),
       coalesce(sum(qty) filter (where aggressor = 'buy'), 0)
from trades
group by 1, 2
"""

def recorded() -> list[tuple[int, datetime, Decimal, Decimal, str, int]]:
    """The real capture: (index, time, price, qty, side, trade id)."""
    with TRADES.open(encoding="utf-8") as handle:
        return [(i, datetime.fromisoformat(row["ts"]), Decimal(row["price"]),
                 Decimal(row["qty"]), row["side"], int(row["trade_id"]))
                for i, row in enumerate(csv.DictReader(handle))]


async def generate(conn: asyncpg.Connection, rows: list[tuple[int, datetime, Decimal, Decimal,
                                                              str, int]],
                   factors: list[Decimal], start: int, stop: int, late: bool) -> int:
    """Insert trades number start..stop-1 of the looped capture; return how many."""
    span = rows[-1][1] - rows[0][1] + timedelta(milliseconds=1)
    size = len(rows)
    sql = """
        insert into trades (instrument_id, trade_id, traded_at, price, qty, aggressor)
        select $1, (r.trade_id + g.k * $2)::text,
               r.ts + g.k * $3::interval
                   - case when $6 and (g.k * $2 + r.idx) % 500 = 0
                          then ((g.k * $2 + r.idx) % 10 + 1) * interval '1 minute'
                          else interval '0' end,
               round(r.price * ($7::numeric[])[g.k + 1], 2), r.qty, r.side
        from generate_series($4::bigint / $2, ($5::bigint - 1) / $2) as g (k)
        cross join pg_temp.recorded r
        where g.k * $2 + r.idx >= $4 and g.k * $2 + r.idx < $5"""
    status = await conn.execute(sql, INSTRUMENT, size, span, start, stop, late, factors)
    return int(status.rpartition(" ")[2])


def random_walk(loops: int, seed: int) -> list[Decimal]:
    """One price factor per loop of the capture: a seeded walk of about 0.5% a step."""
    rng = random.Random(seed)
    factor, out = 1.0, []
    for _ in range(loops):
        out.append(Decimal(f"{factor:.6f}"))
        factor *= 1 + rng.gauss(0, 0.005)
    return out


async def timed(conn: asyncpg.Connection, *statements: str) -> float:
    """Run statements in order; return the seconds they took together."""
    start = time.perf_counter()
    for statement in statements:
        await conn.execute(statement)
    return time.perf_counter() - start


async def plain_sql(conn: asyncpg.Connection) -> float:
    """The baseline at its best: with the server's settings and with the session settings the
    model runs with (no JIT, 64 MB work_mem); return the faster time."""
    times = []
    for settings in ("", "set local jit = off; set local work_mem = '64MB';"):
        await conn.execute("truncate bench_candles_sql")
        async with conn.transaction():
            if settings:
                await conn.execute(settings)
            times.append(await timed(conn, PLAIN_SQL))
    return min(times)


async def differences(conn: asyncpg.Connection, table: str) -> int:
    """Rows in which the dbt-built 1m candles and `table` differ, both ways."""
    model = f"select {CANDLE_COLUMNS} from {DEFAULT_SCHEMA}.fct_candles_1m"
    other = f"select {CANDLE_COLUMNS} from {table}"
    return int(await conn.fetchval(
        f"select (select count(*) from ({model} except {other}) a)"
        f" + (select count(*) from ({other} except {model}) b)"))


def model_seconds(target: Path) -> tuple[float, int]:
    """The model's own time and rows from run_results.json."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    (result,) = [r for r in results if r["unique_id"] == MODEL]
    return float(result["execution_time"]), int(result["adapter_response"]["rows_affected"])


def sql_seconds(target: Path) -> float:
    """Seconds the model's SQL statements took in its last run (dbt's debug log); the model
    runs alone, so every statement between its start and finish is its own."""
    lines = (target / "logs" / "dbt.log").read_text().splitlines()
    start = max(i for i, line in enumerate(lines) if f"Began running node {MODEL}" in line)
    total = 0.0
    for line in lines[start:]:
        if f"Finished running node {MODEL}" in line:
            break
        match = re.search(r"SQL status: .* in ([0-9.]+) seconds", line)
        if match:
            total += float(match[1])
            if os.environ.get("LOCKGATE_BENCH_VERBOSE"):
                print(line, file=sys.stderr)
    return total


async def setup(conn: asyncpg.Connection, rows: list[tuple[int, datetime, Decimal, Decimal,
                                                          str, int]],
                factors: list[Decimal], trades: int) -> int:
    """Prepare the database and store the first `trades` trades; return how many."""
    await conn.execute(
        "create temporary table recorded (idx bigint, ts timestamptz, price numeric,"
        " qty numeric, side text, trade_id bigint)")
    await conn.copy_records_to_table("recorded", records=rows)
    start = time.perf_counter()
    stored = await generate(conn, rows, factors, 0, trades, late=False)
    await conn.execute("analyze trades")
    print(f"stored {stored:,} trades in {time.perf_counter() - start:.1f} s", file=sys.stderr,
          flush=True)
    await conn.execute(CANDLE_TABLE.format(name="bench_candles_sql"))
    await conn.execute(CANDLE_TABLE.format(name="bench_candles_naive"))
    return stored


async def first_build(conn: asyncpg.Connection, app: str, target: Path, stored: int,
                      repeat: int) -> tuple[float, float, int]:
    """Plain SQL and the model from scratch, alternately, `repeat` times each; check they
    agree; return (best plain s, best model s, bars)."""
    t_sql, t_model = [], []
    for i in range(repeat):
        t_sql.append(await plain_sql(conn))
        # The first run creates the table; later ones rebuild it from scratch.
        run_dbt(["run", "--select", "+fct_candles_1m", *(["--full-refresh"] if i else [])],
                app, target_path=target)
        seconds, built = model_seconds(target)
        t_model.append(seconds)
    bars = int(await conn.fetchval("select count(*) from bench_candles_sql"))
    if (diff := await differences(conn, "bench_candles_sql")) or built != bars:
        raise SystemExit(f"the model and plain SQL disagree: {diff} rows differ, "
                         f"{built} vs {bars} bars")
    print(f"first build: {bars:,} bars from {stored:,} trades; plain SQL "
          f"{_samples(t_sql)}, dbt model {_samples(t_model)} (the last run's SQL statements "
          f"{sql_seconds(target):.2f} s)", file=sys.stderr, flush=True)
    return min(t_sql), min(t_model), bars


async def naive_sql(conn: asyncpg.Connection, t_model: float) -> None:
    """Time the textbook statement once, for context; check it agrees."""
    t_naive = await timed(conn, NAIVE_SQL)
    if diff := await differences(conn, "bench_candles_naive"):
        raise SystemExit(f"the textbook GROUP BY disagrees in {diff} rows")
    print(f"context: textbook single GROUP BY (ordered array_agg) {t_naive:.2f} s; the dbt "
          f"model makes {t_naive / t_model:.2f}x its rows/s", file=sys.stderr, flush=True)


async def refresh(conn: asyncpg.Connection, app: str, target: Path,
                  rows: list[tuple[int, datetime, Decimal, Decimal, str, int]],
                  factors: list[Decimal], trades: int, extra: int, repeat: int) -> float:
    """`repeat` times: 1% more trades (some late), the incremental run; then check the
    result against plain SQL over every trade; return the best refresh's seconds."""
    samples = []
    for i in range(repeat):
        start = trades + i * extra
        last = await conn.fetchval("select max(traded_at) from trades")
        added = await generate(conn, rows, factors, start, start + extra, late=True)
        late = await conn.fetchval(
            "select count(*) from trades where ingest_xid = (select max(ingest_xid)"
            " from trades) and traded_at < $1", last)
        run_dbt(["run", "--select", "+fct_candles_1m"], app, target_path=target)
        seconds, rebuilt = model_seconds(target)
        samples.append(seconds)
        print(f"refresh {i + 1}: {added:,} more trades ({late} of them late), {rebuilt} bars "
              f"rebuilt in {seconds:.2f} s (its SQL statements {sql_seconds(target):.2f} s; "
              "the rest is dbt's own work per model)", file=sys.stderr, flush=True)
    await conn.execute("truncate bench_candles_sql")
    await conn.execute(PLAIN_SQL)
    if diff := await differences(conn, "bench_candles_sql"):
        raise SystemExit(f"after the refreshes the model and plain SQL disagree in {diff} rows")
    return min(samples)


def _samples(values: list[float]) -> str:
    return "best " + f"{min(values):.2f} s of " + " / ".join(f"{v:.2f}" for v in values)


async def main() -> None:
    """Build the data, run both sides, check they agree, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=20240808)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each side (and refreshes); the best counts")
    parser.add_argument("--no-naive", action="store_true",
                        help="skip timing the textbook single GROUP BY (context only)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database and dbt's target folder (to inspect plans)")
    args = parser.parse_args()
    rows = recorded()
    extra = max(1, args.trades // 100)
    factors = random_walk((args.trades + extra * args.repeat) // len(rows) + 2, args.seed)
    database = f"lockgate_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'create database "{database}"')
    dsn = ADMIN.rpartition("/")[0] + "/" + database
    target = Path(tempfile.mkdtemp(prefix="lockgate-bench-dbt-"))
    try:
        await migrate(dsn, app_role=ROLE)
        conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"})
        app = app_dsn(dsn, ROLE)
        stored = await setup(conn, rows, factors, args.trades)
        t_plain, t_first, bars = await first_build(conn, app, target, stored, args.repeat)
        if not args.no_naive:
            await naive_sql(conn, t_first)
        t_incr = await refresh(conn, app, target, rows, factors, args.trades, extra,
                               args.repeat)
        await conn.close()
    finally:
        if args.keep:
            print(f"kept database {database}, dbt target {target}", file=sys.stderr)
        else:
            await admin.execute(f'drop database if exists "{database}" with (force)')
            await admin.execute(f'drop role if exists "{ROLE}"')
        await admin.close()
    print(f"trades={stored} bars={bars} plain_sql_s={t_plain:.2f} model_s={t_first:.2f} "
          f"incremental_s={t_incr:.2f}", file=sys.stderr)
    print(f"candles_ratio_vs_sql={t_plain / t_first:.2f} incremental_ratio={t_incr / t_first:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
