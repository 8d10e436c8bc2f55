"""One warehouse for the dbt tests: a database with real trades, real candles, vendor rows and
fills, built by dbt once (dbt takes seconds per invocation) and read by many tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SHARED_DATA
from tests.dbt.support import (
    BTC_TRADES,
    ETH_TRADES,
    CsvTrade,
    InProcessDbt,
    copy_trades,
    create_database,
    drop_database,
    execute,
    lockgate,
    lockgate_env,
    read_trades,
    run,
)

# Exchange candles for the feature library (real Binance and Bittrex bars; XRP has gaps).
CANDLE_FILES = (
    REPO / "data" / "candles" / "binance_BTC-USDT_1h.csv",
    REPO / "data" / "candles" / "binance_BTC-USDT_4h.csv",
    REPO / "data" / "candles" / "binance_ETH-USDT_1h.csv",
    SHARED_DATA / "candles" / "binance_ETH-USDT_1d.csv",
    SHARED_DATA / "candles" / "binance_NEO-BTC_1m.csv",
    SHARED_DATA / "candles" / "bittrex_XRP-BTC_1m.csv",
)
BTC = "BINANCE:BTC/USDT"
ETH = "BINANCE:ETH/USDT"
# A small made-up instrument the incremental test may change without touching real data.
LATE = "TEST:LATE/USDT"


@dataclass(frozen=True, slots=True)
class Warehouse:
    """The built database: DSNs, the dbt that built it, its artefacts."""

    @property
    def target_path(self) -> Path:
        """Where dbt writes manifest.json, run_results.json, catalog.json."""
        return self.dbt.target_path

    admin_dsn: str
    app_dsn: str
    lockgate_env: dict[str, str | None]
    dbt: InProcessDbt
    run_results: dict[str, Any]
    catalog: dict[str, Any]
    btc_trades: list[CsvTrade]
    eth_trades: list[CsvTrade]


def late_trades() -> list[CsvTrade]:
    """The LATE instrument's trades: ties on time that only numeric id order breaks right."""
    from datetime import datetime
    from decimal import Decimal

    def trade(ts: str, price: str, qty: str, side: str, trade_id: str) -> CsvTrade:
        return CsvTrade(datetime.fromisoformat(ts), Decimal(price), Decimal(qty), side,
                        trade_id)

    return [
        # 23:55: the first two share a time; numerically 9 comes before 10 ("10" < "9" as text).
        trade("2024-08-08T23:55:00.100+00:00", "10.5", "1", "buy", "10"),
        trade("2024-08-08T23:55:00.100+00:00", "10.0", "2", "sell", "9"),
        trade("2024-08-08T23:55:20.000+00:00", "10.2", "1.5", "buy", "11"),
        # ... the last two too: 100 comes after 12.
        trade("2024-08-08T23:55:40.000+00:00", "10.4", "1", "sell", "100"),
        trade("2024-08-08T23:55:40.000+00:00", "10.1", "1", "buy", "12"),
        trade("2024-08-08T23:56:05.000+00:00", "10.3", "3", "buy", "101"),
        trade("2024-08-08T23:58:30.000+00:00", "10.6", "0.5", "sell", "102"),
    ]


def _load(admin_dsn: str, env: dict[str, str | None]) -> None:
    from adapters.storage.candles import CandleStore
    from cli.sources import csv_series

    # The real trades go in the way a user loads them: lockgate load-trades.
    loaded = lockgate(env, "load-trades", str(BTC_TRADES), str(ETH_TRADES))
    assert loaded.exit_code == 0, loaded.output
    execute(admin_dsn, "insert into instruments (id, venue, base, quote, price_precision,"
            " size_precision) values ($1, 'TEST', 'LATE', 'USDT', 2, 8)", LATE)
    copy_trades(admin_dsn, LATE, late_trades())

    async def candles() -> None:
        import asyncpg

        conn = await asyncpg.connect(admin_dsn)
        try:
            store = CandleStore(conn)
            for path in CANDLE_FILES:
                series = csv_series(path, None, None, None)
                await store.upsert_instrument(series.instrument_id, series.price_precision,
                                              series.size_precision)
                await store.copy_candles(series)
        finally:
            await conn.close()

    run(candles())
    for statement in VENDOR_ROWS + FILLS:
        execute(admin_dsn, statement)


# Around the BTC trade window (2024-08-08 23:54 .. 2024-08-09 00:05): values that became
# available before, inside and after it, so an as-of join and an equality join differ.
VENDOR_ROWS = (
    "insert into raw_vendor_news values"
    " ('cryptopanic', 'p1', 'BTC up', 'https://x/1', 'site', '2024-08-08 22:10+00',"
    "  '2024-08-08 22:30+00', '{BTC}', 3, 1),"
    " ('cryptopanic', 'p2', 'BTC and ETH', 'https://x/2', null, '2024-08-08 22:40+00',"
    "  '2024-08-08 22:45+00', '{BTC,ETH}', 1, 1),"
    # Published inside the window, but only known after it: must not leak into its bars.
    " ('cryptopanic', 'p3', 'BTC crash', 'https://x/3', 'site', '2024-08-08 23:56+00',"
    "  '2024-08-09 00:02:30+00', '{BTC}', 0, 9)",
    "insert into raw_vendor_prices values"
    " ('coingecko', 'BTC', 'USD', 61000, 1.2e12, 3e10, 1, '2024-08-08 23:00+00',"
    "  '2024-08-08 23:01+00'),"
    # Observed before the window's end but available at 00:05:00 exactly, the close of the
    # 00:04 bar: as-of means at or before.
    " ('coingecko', 'BTC', 'USD', 61100, 1.2e12, 3e10, 2, '2024-08-09 00:00+00',"
    "  '2024-08-09 00:05+00'),"
    " ('coingecko', 'ETH', 'USD', 2680, 3.2e11, 1e10, 2, '2024-08-08 23:00+00',"
    "  '2024-08-08 23:01+00')",
    "insert into raw_vendor_metrics values"
    " ('glassnode', 'active_addresses', 'BTC', '2024-08-08 00:00+00', 712345,"
    "  '2024-08-08 06:00+00')",
)

# Fills in the BTC trade window. v1 trades in two accounts; v2 pays a fee in BNB.
FILLS = (
    "insert into fills (account_id, instrument_id, trade_id, client_order_id, strategy_id,"
    " side, filled_at, qty, price, fee, fee_asset, liquidity) values"
    " ('acct-1', 'BINANCE:BTC/USDT', '1', 'o1', 'v1', 'buy', '2024-08-08 23:55:00+00',"
    "  1, 61000, 6.1, null, 'taker'),"
    " ('acct-1', 'BINANCE:BTC/USDT', '2', 'o2', 'v1', 'buy', '2024-08-08 23:57:00+00',"
    "  1, 61200, 6.12, 'USDT', 'taker'),"
    " ('acct-1', 'BINANCE:BTC/USDT', '3', 'o3', 'v1', 'sell', '2024-08-09 00:01:00+00',"
    "  1.5, 61500, 9.225, null, 'maker'),"
    " ('acct-2', 'BINANCE:BTC/USDT', '1', 'o1', 'v1', 'buy', '2024-08-09 00:02:00+00',"
    "  0.5, 61400, 3.07, null, 'taker'),"
    " ('acct-2', 'BINANCE:ETH/USDT', '7', 'o7', 'v2', 'buy', '2024-08-08 23:59:00+00',"
    "  2, 2650, 0.002, 'BNB', 'taker'),"
    " ('acct-2', 'BINANCE:ETH/USDT', '8', 'o8', 'v2', 'sell', '2024-08-09 00:03:00+00',"
    "  2, 2660, 0.002, 'BNB', 'taker')",
    "insert into equity_snapshots values ('acct-1', '2024-08-08 23:58:00+00', 100000),"
    " ('acct-1', '2024-08-09 00:04:00+00', 100250)",
)


@pytest.fixture(scope="package")
def warehouse(app_role: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """Build the whole dbt project once over real data (as the application role)."""
    from adapters.storage.connect import app_dsn
    from adapters.storage.migrate import migrate

    admin = create_database()
    try:
        run(migrate(admin, app_role=app_role))
        env = lockgate_env(admin, app_role, tmp_path_factory.mktemp("home"))
        _load(admin, env)
        dsn = app_dsn(admin, app_role)
        dbt = InProcessDbt(dsn, tmp_path_factory.mktemp("dbt_target"))
        dbt.invoke("parse")
        dbt.invoke("build")
        run_results = json.loads((dbt.target_path / "run_results.json").read_text())
        dbt.invoke("docs", "generate", "--no-compile")
        catalog = json.loads((dbt.target_path / "catalog.json").read_text())
        yield Warehouse(admin, dsn, env, dbt, run_results, catalog, read_trades(BTC_TRADES),
                        read_trades(ETH_TRADES))
    finally:
        drop_database(admin)
