"""The code location loads, wires the lineage as intended, and passes Dagster's own validation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import REPO

RAW_TRADES = dg.AssetKey(["raw", "trades"])
RAW_CANDLES = dg.AssetKey(["raw", "exchange_candles"])


def test_all_definitions_load_and_link_raw_assets_to_the_dbt_sources() -> None:
    # Arrange
    from orchestration.definitions import defs

    # Act
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()

    # Assert: the Python loaders are dbt's sources, so lineage runs raw -> staging -> marts
    assert RAW_TRADES in graph.get(dg.AssetKey(["stg_lockgate__trades"])).parent_keys
    assert RAW_CANDLES in graph.get(dg.AssetKey(["stg_lockgate__exchange_candles"])).parent_keys
    assert dg.AssetKey(["raw", "vendor_prices"]) in graph.get(
        dg.AssetKey(["stg_vendor__prices"])).parent_keys
    assert graph.get(RAW_TRADES).is_materializable
    # candles and features are daily-partitioned; P&L is not
    for key in (RAW_TRADES, dg.AssetKey(["fct_candles_1m"]), dg.AssetKey(["fct_feature_rsi"])):
        assert isinstance(graph.get(key).partitions_def, dg.DailyPartitionsDefinition), key
    assert graph.get(dg.AssetKey(["fct_daily_pnl_strategies"])).partitions_def is None


def test_dbt_tests_and_quality_suites_are_blocking_checks() -> None:
    # Arrange
    from orchestration.definitions import defs

    # Act
    graph = defs.resolve_asset_graph()
    specs = {key: graph.get_check_spec(key) for key in graph.asset_check_keys}

    # Assert: dbt's tests arrive as blocking checks of their models
    dbt_checks = [spec for key, spec in specs.items()
                  if key.asset_key == dg.AssetKey(["fct_candles"])
                  and key.name != "candle_expectations"]
    assert dbt_checks and all(spec.blocking for spec in dbt_checks)
    # the great_expectations suites block; freshness only warns
    assert specs[dg.AssetCheckKey(RAW_CANDLES, "candle_expectations")].blocking
    assert specs[dg.AssetCheckKey(dg.AssetKey(["fct_candles"]), "candle_expectations")].blocking
    assert specs[dg.AssetCheckKey(dg.AssetKey(["fct_feature_rsi"]),
                                  "feature_expectations")].blocking
    assert not specs[dg.AssetCheckKey(RAW_TRADES, "trades_freshness")].blocking


def test_schedules_sensors_and_jobs_are_registered() -> None:
    # Arrange
    from orchestration.definitions import defs

    # Act
    repository = defs.get_repository_def()

    # Assert
    assert {s.name for s in repository.schedule_defs} == {"daily_market_data",
                                                          "hourly_vendor_data"}
    assert {s.name for s in repository.sensor_defs} >= {"new_trades"}
    rebuild = repository.get_job("rebuild_candles_and_features")
    assert rebuild.partitions_def == defs.resolve_asset_graph().get(RAW_TRADES).partitions_def
    assert rebuild.executor_def.name == "in_process"


@pytest.mark.slow
def test_dagster_definitions_validate_succeeds_without_touching_a_database(
    tmp_path: Path,
) -> None:
    # Arrange: an unreachable database and a home that must stay untouched
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOCKGATE_")}
    env.update(LOCKGATE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
               LOCKGATE_HOME=str(tmp_path / "home"), DAGSTER_HOME=str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()

    # Act
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate",
         "-m", "orchestration.definitions"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)

    # Assert
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr
    assert not (tmp_path / "home").exists()  # no embedded server was started on import
