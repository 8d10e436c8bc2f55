"""Helpers for the dbt tests: databases, the schema dbt needs, trades, an independent resample.
"""

from __future__ import annotations

import asyncio
import csv
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import ADMIN_DSN, RUN_ID, SHARED_DATA

SCHEMA = "analytics"
BTC_TRADES = SHARED_DATA / "trades" / "binance_BTC-USDT_trades_20240808-20240809.csv"
ETH_TRADES = SHARED_DATA / "trades" / "binance_ETH-USDT_trades_20240808-20240809.csv"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)



def run(coro: Any) -> Any:
    """Run a coroutine to completion (the tests are synchronous)."""
    return asyncio.run(coro)


def create_database() -> str:
    """Create an empty database of this test run; return its admin DSN."""
    name = f"lockgate_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    run(_admin(f'create database "{name}"'))
    return f"{ADMIN_DSN.rpartition('/')[0]}/{name}"


def drop_database(dsn: str) -> None:
    """Drop a database made by ``create_database``."""
    run(_admin(f'drop database if exists "{dsn.rpartition("/")[2]}" with (force)'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query (session in UTC) and return its rows."""
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"})
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return run(fetch())  # type: ignore[no-any-return]


def execute(dsn: str, sql: str, *args: Any) -> None:
    """Run one statement."""
    async def go() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    run(go())


@dataclass(frozen=True, slots=True)
class CsvTrade:
    """A trade as the CSV says, exactly."""

    ts: datetime
    price: Decimal
    qty: Decimal
    side: str
    trade_id: str


def read_trades(path: Path) -> list[CsvTrade]:
    """Read a shared-data trade CSV (ts ISO-8601 or epoch ms)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [CsvTrade(_ts(row["ts"]), Decimal(row["price"]), Decimal(row["qty"]),
                         row["side"], row["trade_id"]) for row in csv.DictReader(handle)]


def _ts(text: str) -> datetime:
    if text.isdigit():
        return EPOCH + timedelta(milliseconds=int(text))
    return datetime.fromisoformat(text).astimezone(UTC)


def copy_trades(dsn: str, instrument_id: str, trades: Sequence[CsvTrade]) -> None:
    """Insert trades with COPY (the table's defaults, such as ingest_xid, apply)."""
    async def go() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.copy_records_to_table(
                "trades", columns=("instrument_id", "trade_id", "traded_at", "price", "qty",
                                   "aggressor"),
                records=[(instrument_id, t.trade_id, t.ts, t.price, t.qty, t.side)
                         for t in trades])
        finally:
            await conn.close()

    run(go())


@dataclass(frozen=True, slots=True)
class Bar:
    """A bar resampled in Python from trades."""

    open_at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trade_count: int
    taker_buy_volume: Decimal
    first_trade_id: str
    last_trade_id: str


def resample(trades: Sequence[CsvTrade], seconds: int) -> list[Bar]:
    """Bars of `seconds` aligned to the epoch (so to UTC midnight), written without SQL: open
    and close by time then numeric trade id; buckets without trades have no bar."""
    buckets: dict[datetime, list[CsvTrade]] = {}
    for trade in sorted(trades, key=lambda t: (t.ts, int(t.trade_id))):
        offset = (trade.ts - EPOCH) // timedelta(seconds=seconds)
        buckets.setdefault(EPOCH + timedelta(seconds=offset * seconds), []).append(trade)
    bars = []
    for open_at in sorted(buckets):
        group = buckets[open_at]
        bars.append(Bar(
            open_at=open_at, open=group[0].price, high=max(t.price for t in group),
            low=min(t.price for t in group), close=group[-1].price,
            volume=sum((t.qty for t in group), Decimal(0)),
            quote_volume=sum((t.price * t.qty for t in group), Decimal(0)),
            trade_count=len(group),
            taker_buy_volume=sum((t.qty for t in group if t.side == "buy"), Decimal(0)),
            first_trade_id=group[0].trade_id, last_trade_id=group[-1].trade_id))
    return bars


def lockgate_env(admin_dsn: str, app_role: str, home: Path) -> dict[str, str | None]:
    """The environment pointing the lockgate command at a database and a home of its own (any
    other LOCKGATE_/DBT_ setting of the caller unset)."""
    import os

    env: dict[str, str | None] = {key: None for key in os.environ
                                  if key.startswith(("LOCKGATE_", "DBT_"))}
    env.update(LOCKGATE_DATABASE_URL=admin_dsn, LOCKGATE_APP_ROLE=app_role,
               LOCKGATE_HOME=str(home))
    return env


def lockgate(env: dict[str, str | None], *args: str) -> Any:
    """Run the lockgate command line in this process (click's CliRunner); return its Result."""
    from click.testing import CliRunner

    from cli.main import lockgate as command

    return CliRunner().invoke(command, list(args), env=env)


class InProcessDbt:
    """dbt run in this process (dbtRunner) against one database: the project is parsed once
    and the manifest reused, which saves seconds per invocation over the CLI. The subprocess
    path (`orchestration.dbt_profile.run_dbt`) has tests of its own and serves the CLI."""

    def __init__(self, dsn: str, target_path: Path) -> None:
        self.dsn = dsn
        self.target_path = target_path
        self._manifest: Any = None

    def invoke(self, *args: str) -> Any:
        """Run ``dbt <args>``; return dbt's result; fail the test on any error."""
        import os

        from dbt.cli.main import dbtRunner

        from orchestration.dbt_profile import DBT_PROJECT_DIR, dbt_env

        env = {**dbt_env(self.dsn), "PGTZ": "UTC", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            runner = dbtRunner(manifest=self._manifest)
            result = runner.invoke([
                *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                str(DBT_PROJECT_DIR), "--target-path", str(self.target_path),
                "--log-path", str(self.target_path / "logs")])
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if not result.success:
            failed = [f"{r.node.unique_id}: {r.status}: {r.message}"
                      for r in getattr(result.result, "results", []) or []
                      if str(r.status) in ("error", "fail")]
            raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception or failed}")
        if args[0] == "parse":
            self._manifest = result.result
        return result

