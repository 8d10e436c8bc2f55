"""Checks on the dbt models beyond dbt's own tests: the candle suite on the ``fct_candles``
mart and the feature suite on every feature model (great_expectations, blocking), and twin
parity of the per-bar indicators with ``strategies.indicators`` (not blocking: it gates
promotion, not the pipeline).

dbt's tests need no code here: dagster-dbt turns each into a blocking check of its model.
"""

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

import asyncpg
import dagster as dg
from dagster import AssetCheckExecutionContext

from orchestration.dbt_project import lockgate_dbt_project
from orchestration.defs.features.layout import (
    FeatureModel,
    feature_models,
    load_manifest,
    model_groups,
    model_key,
)
from orchestration.defs.features.resources import LockgateDbt
from orchestration.defs.market_data.checks import candle_suite_result
from orchestration.defs.market_data.partitions import partition_window
from orchestration.defs.market_data.resources import CandleQuality
from orchestration.quality.twins import compare, has_twin
from orchestration.resources import DatabaseResource
from orchestration.sql import quoted

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

CANDLE_MART = "fct_candles"
FEATURE_CHECK = "feature_expectations"


@dg.asset_check(asset=model_key(CANDLE_MART), name="candle_expectations", blocking=True,
                description="great_expectations candle suite on the candle mart (venue bars and "
                            "bars built from trades): nulls, ranges, OHLC consistency, monotonic "
                            "time, duplicate bars, gap ratio, price-jump outliers. Blocks the "
                            "features.")
def candle_mart_expectations(context: AssetCheckExecutionContext,
                             database: DatabaseResource, dbt: LockgateDbt,
                             quality: CandleQuality) -> dg.AssetCheckResult:
    """Validate the mart's bars of the run's days."""
    return candle_suite_result(context, database, dbt.target_schema, CANDLE_MART, quality)


def feature_expectations(group: str) -> dg.AssetChecksDefinition | None:
    """Return the feature suite of the feature models built by the dbt step ``group``."""
    manifest = load_manifest(lockgate_dbt_project.manifest_path)
    groups = model_groups(manifest)
    models = {model_key(model.name): model for model in feature_models(manifest)
              if groups.get(model.name) == group}
    if not models:
        return None
    specs = [dg.AssetCheckSpec(FEATURE_CHECK, asset=key, blocking=True,
                               description=f"great_expectations feature suite on {model.name}: "
                                           "keys, availability after the bar opened, no nulls "
                                           "after warm-up, finite values in range.")
             for key, model in models.items()]

    @dg.multi_asset_check(specs=specs, name=f"{group}_feature_expectations", can_subset=True)
    def _checks(context: AssetCheckExecutionContext, database: DatabaseResource,
                dbt: LockgateDbt) -> Iterator[dg.AssetCheckResult]:
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            model = models[check_key.asset_key]
            yield _feature_result(context, database, dbt.target_schema, model)

    return _checks


def _feature_result(context: AssetCheckExecutionContext, database: DatabaseResource,
                    schema: str, model: FeatureModel) -> dg.AssetCheckResult:
    # pandas and great_expectations take seconds to import: load them when a check runs.
    from orchestration.quality.features import check_feature  # noqa: PLC0415
    from orchestration.quality.frames import read_feature  # noqa: PLC0415

    window = partition_window(context)

    async def read(conn: asyncpg.Connection) -> "pd.DataFrame":
        return await read_feature(conn, quoted(schema, model.name), model.keys,
                                  model.available_at_column, model.columns, window)

    outcome = check_feature(database.run(read), model)
    return dg.AssetCheckResult(asset_key=model_key(model.name), check_name=FEATURE_CHECK,
                               passed=outcome.passed, severity=dg.AssetCheckSeverity.ERROR,
                               metadata=outcome.metadata())


TWIN_CHECK = "twin_parity"
FEATURE_INPUT = "int_feature_candles"


def twin_parity(group: str) -> dg.AssetChecksDefinition | None:
    """Return the twin-parity check of the feature models of ``group`` that name a twin.

    Not blocking: the pipeline goes on, but a failed parity keeps a strategy version that uses
    the feature from promotion (decision 2).
    """
    manifest = load_manifest(lockgate_dbt_project.manifest_path)
    groups = model_groups(manifest)
    models = {model_key(model.name): model for model in feature_models(manifest)
              if groups.get(model.name) == group and has_twin(model)}
    if not models:
        return None
    specs = [dg.AssetCheckSpec(TWIN_CHECK, asset=key, blocking=False,
                               additional_deps=[model_key(FEATURE_INPUT)],
                               description=f"{model.name} equals its incremental twin "
                                           f"{model.twin} on every stored bar (1e-9 relative).")
             for key, model in models.items()]

    @dg.multi_asset_check(specs=specs, name=f"{group}_twin_parity", can_subset=True)
    def _checks(context: AssetCheckExecutionContext, database: DatabaseResource,
                dbt: LockgateDbt) -> Iterator[dg.AssetCheckResult]:
        bars = database.run(lambda conn: _series_bars(conn, dbt.target_schema))
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            model = models[check_key.asset_key]
            values = database.run(partial(_feature_values, schema=dbt.target_schema,
                                          model=model))
            parity = compare(model, bars, values)
            yield dg.AssetCheckResult(
                asset_key=check_key.asset_key, check_name=TWIN_CHECK,
                passed=parity.passed and parity.compared > 0,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"values_compared": parity.compared, "mismatches": parity.mismatches,
                          "examples": "\n".join(parity.examples) or "none",
                          "twin": model.twin or ""})

    return _checks


async def _series_bars(conn: asyncpg.Connection, schema: str,
                       ) -> dict[tuple[str, str], list[tuple[Any, tuple[float, float, float]]]]:
    rows = await conn.fetch(
        "select instrument_id, timeframe, open_at, high::float8, low::float8, close::float8"
        f" from {quoted(schema, FEATURE_INPUT)} order by instrument_id, timeframe, open_at")
    series: dict[tuple[str, str], list[tuple[Any, tuple[float, float, float]]]] = {}
    for row in rows:
        series.setdefault((row[0], row[1]), []).append((row[2], (row[3], row[4], row[5])))
    return series


async def _feature_values(conn: asyncpg.Connection, schema: str,
                          model: FeatureModel) -> dict[tuple[str, str, Any], list[float | None]]:
    columns = ", ".join(f"{quoted(column)}::float8" for column in model.columns)
    rows = await conn.fetch(f"select instrument_id, timeframe, open_at, {columns}"
                            f" from {quoted(schema, model.name)}")
    return {(row[0], row[1], row[2]): list(row[3:]) for row in rows}
