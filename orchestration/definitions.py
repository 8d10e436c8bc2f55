"""Lockgate's Dagster code location: ``defs``.

Load it with ``dagster-webserver -m orchestration.definitions`` (``lockgate dagster`` does) or
``dagster definitions validate -m orchestration.definitions``. Importing it reads the dbt
manifest (``orchestration.manifest.ensure_manifest`` writes it) and does nothing else: the
database is resolved, and the embedded server started, only when a run or sensor needs it.

`build_definitions` assembles the same definitions with other resources (tests bind fixture
databases and data folders). The dbt steps are created in lineage order because each one's gate
reads the blocking checks defined upstream of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from orchestration.defs.features.assets import dbt_step, external_sources
from orchestration.defs.features.checks import (
    candle_mart_expectations,
    feature_expectations,
    twin_parity,
)
from orchestration.defs.features.layout import CANDLES, FEATURES, PNL, VENDORS
from orchestration.defs.features.resources import LockgateDbt
from orchestration.defs.market_data.assets import raw_exchange_candles, raw_trades
from orchestration.defs.market_data.checks import exchange_candle_expectations, trades_freshness
from orchestration.defs.market_data.jobs import daily_job, rebuild_days_job
from orchestration.defs.market_data.resources import CandleQuality, CsvMarketData
from orchestration.defs.market_data.schedules import daily_market_data
from orchestration.defs.market_data.sensors import new_trades
from orchestration.defs.vendors.assets import raw_vendor_metrics, raw_vendor_news, raw_vendor_prices
from orchestration.defs.vendors.checks import vendor_freshness
from orchestration.defs.vendors.resources import VendorApis
from orchestration.defs.vendors.schedules import hourly_vendor_data, vendors_job
from orchestration.resources import LockgateDatabase

# The root URL of the local fake vendors (``python -m adapters.vendors.fake``), for the demo.
VENDOR_FAKES_ENV = "LOCKGATE_VENDOR_FAKES_URL"

Definition = dg.AssetsDefinition | dg.AssetChecksDefinition


def default_resources() -> dict[str, Any]:
    """Return the real resources: Lockgate's database and data folders, the vendors' APIs."""
    database = LockgateDatabase()
    return {
        "database": database,
        "dbt": LockgateDbt(database=database),
        "market_data": CsvMarketData(),
        "vendors": VendorApis(fakes_url=os.environ.get(VENDOR_FAKES_ENV) or None),
        "quality": CandleQuality(),
    }


def all_definitions() -> list[Definition]:
    """Return every asset and check, upstream first."""
    built: list[Definition] = [
        raw_trades, raw_exchange_candles, exchange_candle_expectations, trades_freshness,
        raw_vendor_prices, raw_vendor_news, raw_vendor_metrics, vendor_freshness,
    ]
    for group in (CANDLES, VENDORS):
        step = dbt_step(group, built)
        if step is not None:
            built.append(step)
    built.append(candle_mart_expectations)
    for group in (FEATURES, PNL):
        step = dbt_step(group, built)
        if step is not None:
            built.append(step)
    for group in (FEATURES, VENDORS):
        for checks in (feature_expectations(group), twin_parity(group)):
            if checks is not None:
                built.append(checks)
    return built


def build_definitions(resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """Return the code location's definitions, with ``resources`` replacing the defaults."""
    built = all_definitions()
    return dg.Definitions(
        # AssetChecksDefinition subclasses AssetsDefinition: test for the checks first.
        assets=[*external_sources(),
                *(item for item in built if not isinstance(item, dg.AssetChecksDefinition))],
        asset_checks=[item for item in built if isinstance(item, dg.AssetChecksDefinition)],
        jobs=[rebuild_days_job, daily_job, vendors_job],
        schedules=[daily_market_data, hourly_vendor_data],
        sensors=[new_trades],
        resources={**default_resources(), **(resources or {})},
        # One process per run: the default multiprocess executor costs seconds per step on a
        # laptop (STACK.md); the Kubernetes chart swaps in k8s_job_executor.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
