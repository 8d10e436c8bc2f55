"""Materialise raw data and the dbt models into a fresh database; blocking checks stop what is
downstream of a bad batch, in the same run and in the runs after it.

The happy build and the trade-batch test share one database (dbt parses the project in full
once per database, several seconds); the happy build runs first, on another UTC day.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import dagster as dg
import pytest

from adapters.storage.migrate import migrate
from tests.conftest import ADMIN_DSN, RUN_ID
from tests.orchestration.conftest import (
    BTC_CANDLES_1M,
    BTC_TRADES,
    CANDLES_DAY,
    TRADE_ROWS,
    TRADES_DAY,
    build_test_definitions,
    evaluations,
    fixture_resources,
    materialize,
    materialized,
    sql,
    step_errors,
    write_market_files,
)

# dbt and the Dagster processes take seconds per step.
pytestmark = pytest.mark.slow

MARKET = dg.AssetSelection.groups("market_data")
CANDLES = dg.AssetSelection.groups("candles")
FEATURES = dg.AssetSelection.groups("features")
# Slow features join the vendor features, a step of its own (not needed to prove the point).
BAR_FEATURES = FEATURES - dg.AssetSelection.assets("fct_candle_slow_features")
MART_CHECK = "fct_candles:candle_expectations"


@pytest.fixture(scope="module")
def warehouse(app_role: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.Definitions]:
    """A migrated database of the module's own, and the definitions bound to it."""
    name = f"lockgate_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'create database "{name}"'))
    dsn = f"{ADMIN_DSN.rpartition('/')[0]}/{name}"
    try:
        asyncio.run(migrate(dsn, app_role=app_role))
        folder = tmp_path_factory.mktemp("warehouse")
        yield build_test_definitions(fixture_resources(
            dsn, app_role, write_market_files(folder / "data"), folder / "dbt"))
    finally:
        asyncio.run(_admin(f'drop database if exists "{name}" with (force)'))


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _dsn(defs: dg.Definitions) -> str:
    return str((defs.resources or {})["database"].admin_dsn())


def test_raw_and_dbt_assets_materialise_into_a_fresh_database(
    warehouse: dg.Definitions, instance: dg.DagsterInstance,
) -> None:
    # Act
    result = materialize(warehouse, MARKET | CANDLES | BAR_FEATURES, instance, CANDLES_DAY)

    # Assert: every step ran and every blocking check passed
    assert result.success, step_errors(result)
    built = materialized(result)
    assert {"raw/exchange_candles", "raw/trades", "fct_candles_1m", "fct_candles",
            "fct_feature_sma", "fct_feature_rsi", "fct_feature_bollinger"} <= built
    checks = evaluations(result)
    failed = [name for name, evaluation in checks.items()
              if not evaluation.passed and evaluation.severity is dg.AssetCheckSeverity.ERROR]
    assert not failed
    for name in ("raw/exchange_candles:candle_expectations", MART_CHECK,
                 "fct_feature_sma:feature_expectations", "fct_feature_rsi:feature_expectations"):
        assert checks[name].passed, name
    # every SQL indicator equals its incremental twin in strategies/, bar for bar
    for feature in ("sma", "ema", "rsi", "atr", "bollinger"):
        parity = checks[f"fct_feature_{feature}:twin_parity"]
        assert parity.passed, parity.metadata["examples"].value
        assert parity.metadata["values_compared"].value >= 501
    # the rows are there, and the SMA equals one computed from the file itself
    dsn = _dsn(warehouse)
    (bars,) = sql(dsn, "select count(*) from analytics.fct_candles where timeframe = '1m'"
                       " and source = 'exchange' and open_at >= '2018-04-28'"
                       " and open_at < '2018-04-29'")
    assert bars[0] == 501
    closes = [Decimal(line.split(",")[4]) for line in
              BTC_CANDLES_1M.read_text(encoding="utf-8").splitlines()[1:]]
    (last,) = sql(dsn, "select sma_20 from analytics.fct_feature_sma where timeframe = '1m'"
                       " order by open_at desc limit 1")
    expected = sum(closes[-20:], Decimal(0)) / 20
    assert abs(Decimal(str(last[0])) - expected) <= expected * Decimal("1e-9")


def test_a_bad_trade_batch_blocks_the_features_in_this_run_and_the_next(
    warehouse: dg.Definitions, instance: dg.DagsterInstance,
) -> None:
    # Arrange: a print at ten times the price, a minute after the day's real trades (the
    # table accepts it: a positive price; dbt's own tests accept its bar: consistent OHLC)
    dsn = _dsn(warehouse)
    sql(dsn, "insert into trades (instrument_id, trade_id, traded_at, price, qty, aggressor)"
             " values ('BINANCE:BTC/USDT', 'fat-finger', '2024-08-08T23:57:10Z', 617000, 0.01,"
             " 'buy')")

    # Act: run 1 builds the candles; run 2 asks for the features alone
    first = materialize(warehouse, MARKET | CANDLES | BAR_FEATURES, instance, TRADES_DAY)
    second = materialize(warehouse, BAR_FEATURES, instance, TRADES_DAY)

    # Assert run 1: candles built from the trades, the mart's check failed, no feature built
    assert not first.success
    built = materialized(first)
    assert {"raw/trades", "fct_candles_1m", "fct_candles"} <= built
    assert not {key for key in built if key.startswith("fct_feature_")}
    mart = evaluations(first)[MART_CHECK]
    assert not mart.passed
    assert mart.metadata["failed_rules"].value == "price_jumps"
    minutes = {line[:16] for line in BTC_TRADES.read_text(encoding="utf-8").splitlines()
               [1:TRADE_ROWS + 1]}
    rows = sql(dsn, "select count(*), max(high) from analytics.fct_candles_1m"
                    " where open_at >= '2024-08-08'")
    assert tuple(rows[0]) == (len(minutes) + 1, 617000)  # the real minutes and the 10x one
    # Assert run 2: the gate refuses before dbt starts; still no feature
    assert not second.success
    assert not materialized(second)
    (message,) = step_errors(second).values()
    assert "blocked" in message and MART_CHECK in message


def test_a_corrupted_candle_batch_is_caught_and_blocks_every_later_run(
    migrated_database: str, app_role: str, market_files: Path, tmp_path: Path,
    instance: dg.DagsterInstance,
) -> None:
    # Arrange: the venue's bars of a day, then a batch past the table's constraints with a
    # duplicate bar, a NaN close, a high below the low and a one-hour gap
    defs = build_test_definitions(
        fixture_resources(migrated_database, app_role, market_files, tmp_path / "dbt"))
    raw = dg.AssetKey(["raw", "exchange_candles"])
    loaded = materialize(defs, dg.AssetSelection.assets(raw), instance, CANDLES_DAY)
    assert loaded.success
    sql(migrated_database,
        "alter table exchange_candles drop constraint exchange_candles_high,"
        " drop constraint exchange_candles_low, drop constraint exchange_candles_pkey",
        "insert into exchange_candles select * from exchange_candles"
        " where open_at = '2018-04-28T03:00Z'",
        "update exchange_candles set close = 'NaN' where open_at = '2018-04-28T04:00Z'",
        "update exchange_candles set high = low - 1 where open_at = '2018-04-28T05:00Z'",
        "delete from exchange_candles where open_at >= '2018-04-28T06:00Z'"
        " and open_at < '2018-04-28T07:00Z'")

    # Act: run 1 checks the batch with everything downstream; run 2 skips the check
    first = materialize(defs, dg.AssetSelection.checks_for_assets(raw) | CANDLES | FEATURES,
                        instance, CANDLES_DAY)
    second = materialize(defs, CANDLES | FEATURES, instance, CANDLES_DAY)

    # Assert: each defect named, nothing downstream built, in either run
    check = evaluations(first)["raw/exchange_candles:candle_expectations"]
    assert not check.passed
    rules = set(check.metadata["failed_rules"].value.split(", "))
    assert {"duplicates", "nulls", "ohlc", "gap_ratio"} <= rules
    assert not materialized(first)
    assert not second.success and not materialized(second)
    assert "raw/exchange_candles:candle_expectations" in step_errors(second)["dbt_candles"]
    (table,) = sql(migrated_database, "select to_regclass('analytics.fct_candles')")
    assert table[0] is None  # dbt never ran
