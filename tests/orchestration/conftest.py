"""Fixtures for the Dagster code location: the manifest, real data slices, fixture resources.

Every database is a fresh one on the test server (tests/conftest.py), migrated (V0006 gives
dbt its schema). Runs go to ephemeral Dagster instances, in process.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import dagster as dg
import pytest

from tests.conftest import SHARED_DATA

BTC_TRADES = SHARED_DATA / "trades" / "binance_BTC-USDT_trades_20240808-20240809.csv"
BTC_CANDLES_1M = SHARED_DATA / "candles" / "binance_BTC-USDT_1m.csv"
TRADES_DAY = "2024-08-08"
CANDLES_DAY = "2018-04-28"  # the 501 real 1m bars of the candle file all open that day
TRADE_ROWS = 3000  # 23:54:15 .. 23:56:52 on TRADES_DAY: three 1m bars, one UTC day


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """Parse the dbt project once (the code location reads the manifest when imported)."""
    from orchestration.manifest import ensure_manifest

    return ensure_manifest()


def write_market_files(folder: Path) -> Path:
    """Copy real data into ``folder``: the 1m BTC/USDT candle file, the first trades of a day."""
    (folder / "candles").mkdir(parents=True)
    (folder / "trades").mkdir()
    shutil.copy(BTC_CANDLES_1M, folder / "candles" / BTC_CANDLES_1M.name)
    with BTC_TRADES.open(encoding="utf-8") as source:
        lines = [next(source) for _ in range(TRADE_ROWS + 1)]
    (folder / "trades" / f"binance_BTC-USDT_trades_{TRADES_DAY.replace('-', '')}.csv"
     ).write_text("".join(lines), encoding="utf-8")
    return folder


def fixture_resources(admin_dsn: str, app_role: str, data: Path,
                      artifacts: Path) -> dict[str, Any]:
    """Return the fixture resources: the test's database, its data folder, dbt artifacts."""
    from orchestration.defs.features.resources import LockgateDbt
    from orchestration.defs.market_data.resources import CsvMarketData
    from orchestration.resources import FixtureDatabase

    database = FixtureDatabase(admin_url=admin_dsn, app_role=app_role)
    return {"database": database,
            "dbt": LockgateDbt(database=database, artifacts_dir=str(artifacts)),
            "market_data": CsvMarketData(trades_dir=str(data / "trades"),
                                         candles_dir=str(data / "candles"))}


def build_test_definitions(resources: Mapping[str, Any]) -> dg.Definitions:
    """Return the code location's definitions bound to fixture resources."""
    from orchestration.definitions import build_definitions

    return build_definitions(resources)


def materialize(defs: dg.Definitions, selection: dg.AssetSelection,
                instance: dg.DagsterInstance, day: str) -> dg.ExecuteInProcessResult:
    """Run ``selection`` (assets and checks) for one UTC day, in process; never raise."""
    return dg.materialize([*(defs.assets or ()), *(defs.asset_checks or ())],  # type: ignore[list-item]
                          selection=selection, resources=defs.resources, instance=instance,
                          partition_key=day, raise_on_error=False)


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    """Return the asset keys a run materialised, as ``a/b`` strings."""
    return {event.asset_key.to_user_string() for event in result.all_events
            if event.event_type_value == "ASSET_MATERIALIZATION" and event.asset_key}


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """Return each check evaluation of a run by ``asset:check`` name."""
    return {event.asset_check_evaluation_data.asset_check_key.to_user_string():
            event.asset_check_evaluation_data
            for event in result.all_events if event.event_type_value == "ASSET_CHECK_EVALUATION"}


def step_errors(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Return the error message of each failed step of a run."""
    return {event.step_key or "": event.step_failure_data.error.message
            for event in result.all_events
            if event.event_type_value == "STEP_FAILURE" and event.step_failure_data.error}


def sql(dsn: str, *statements: str) -> list[Any]:
    """Run statements on ``dsn`` (UTC session); return the rows of the last."""
    async def go() -> list[Any]:
        conn = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"})
        try:
            rows: list[Any] = []
            for statement in statements:
                rows = list(await conn.fetch(statement))
            return rows
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.fixture
def market_files(tmp_path: Path) -> Path:
    """Real candles and trades in a folder of the test's own."""
    return write_market_files(tmp_path / "data")


Sql = Callable[..., list[Any]]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """An ephemeral Dagster instance: runs, event log and check history in memory."""
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral
