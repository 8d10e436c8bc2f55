"""The plain-PostgreSQL schema: time-series indexes, hypertable-ready keys, candle invariants."""

from __future__ import annotations

import logging
from decimal import Decimal

import asyncpg
import pytest

from adapters.storage.migrate import migrate
from adapters.storage.timescale import TIME_SERIES, apply_timescale, timescale_available

# table -> the leading columns of the index that serves "this instrument (or account), this
# time range"
TIME_INDEXES = {
    "trades": ["instrument_id", "traded_at"],
    "exchange_candles": ["instrument_id", "timeframe", "open_at"],
    "signals": ["instrument_id", "signalled_at"],
    "risk_decisions": ["instrument_id", "decided_at"],
    "orders": ["instrument_id", "created_at"],
    "fills": ["instrument_id", "filled_at"],
    "equity_snapshots": ["account_id", "snapshot_at"],
}
INDEX_COLUMNS = """
select t.relname as table_name, ix.indisunique as is_unique,
       array_agg(a.attname order by k.ord) as columns
from pg_index ix
join pg_class t on t.oid = ix.indrelid
join pg_namespace n on n.oid = t.relnamespace and n.nspname = 'public'
cross join lateral unnest(ix.indkey) with ordinality as k(attnum, ord)
join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
group by ix.indexrelid, t.relname, ix.indisunique
"""


async def test_the_timescale_step_keeps_plain_tables_ready_to_become_hypertables(
    fresh_database: str, app_role: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="adapters.storage.timescale")

    await migrate(fresh_database, app_role=app_role, post_steps=(apply_timescale,))

    conn = await asyncpg.connect(fresh_database)
    try:
        available = await timescale_available(conn)
        installed = await conn.fetchval(
            "select count(*) from pg_extension where extname = 'timescaledb'")
        indexes = await conn.fetch(INDEX_COLUMNS)
        time_types = {r["table_name"]: (r["data_type"], r["is_nullable"]) for r in await conn.fetch(
            "select table_name, column_name, data_type, is_nullable"
            " from information_schema.columns where table_schema = 'public'"
            " and (table_name, column_name) in (select * from unnest($1::text[], $2::text[]))",
            [s.table for s in TIME_SERIES], [s.time_column for s in TIME_SERIES])}
    finally:
        await conn.close()
    assert installed == (1 if available else 0)
    assert ("hypertables" if available else "stay plain PostgreSQL tables") in caplog.text
    by_table: dict[str, list[list[str]]] = {}
    for index in indexes:
        by_table.setdefault(index["table_name"], []).append(list(index["columns"]))
    for table, leading in TIME_INDEXES.items():
        assert any(cols[:len(leading)] == leading for cols in by_table[table]), table
    for spec in TIME_SERIES:
        # TimescaleDB refuses a unique index without the partitioning column.
        unique = [list(i["columns"]) for i in indexes
                  if i["table_name"] == spec.table and i["is_unique"]]
        assert unique and all(spec.time_column in cols for cols in unique), spec.table
        assert time_types[spec.table] == ("timestamp with time zone", "NO")


IMPOSSIBLE_BARS = [  # open, high, low, close, volume -> the constraint that refuses it
    (("10", "9", "8", "9", "1"), "high"),
    (("10", "11", "10.5", "10", "1"), "low"),
    (("10", "11", "0", "10", "1"), "low"),
    (("10", "11", "9", "10", "-1"), "volume"),
    (("10", "NaN", "9", "10", "1"), "high"),
    (("10", "11", "9", "10", "Infinity"), "volume"),
]


async def test_the_candle_table_refuses_impossible_bars(admin_conn: asyncpg.Connection) -> None:
    insert = ("insert into exchange_candles (instrument_id, timeframe, open_at, open, high, low,"
              " close, volume) values ('BINANCE:BTC/USDT', '1h', now(), $1, $2, $3, $4, $5)")

    for values, constraint in IMPOSSIBLE_BARS:
        with pytest.raises(asyncpg.CheckViolationError, match=f"exchange_candles_{constraint}"):
            await admin_conn.execute(insert, *map(Decimal, values))
