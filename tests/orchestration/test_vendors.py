"""Vendor data assets ask each vendor through its port and store what the fake vendors serve."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from adapters.vendors.fake import DEMO_API_KEYS
from tests.orchestration.conftest import (
    build_test_definitions,
    fixture_resources,
    materialized,
    sql,
)

VENDOR_ASSETS = dg.AssetSelection.assets(["raw", "vendor_prices"], ["raw", "vendor_news"],
                                         ["raw", "vendor_metrics"])


@pytest.fixture
def fakes_url() -> Iterator[str]:
    """The four fake vendors as a process, their clock pinned: the same answers every time."""
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.vendors.fake", "--port", "0",
         "--as-of", "2018-06-01T12:00:00Z"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = json.loads(process.stdout.readline())
        yield f"http://127.0.0.1:{line['port']}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_vendor_assets_store_prices_news_and_metrics(
    migrated_database: str, app_role: str, market_files: Path, tmp_path: Path,
    fakes_url: str, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance,
) -> None:
    # Arrange: the fakes' demo keys in the secrets chain, every vendor enabled
    from orchestration.defs.vendors.resources import VendorApis

    for vendor, key in DEMO_API_KEYS.items():
        monkeypatch.setenv(f"LOCKGATE_SECRET_{vendor.upper()}_API_KEY", key)
    resources = fixture_resources(migrated_database, app_role, market_files, tmp_path / "dbt")
    resources["vendors"] = VendorApis(fakes_url=fakes_url)
    defs = build_test_definitions(resources)

    # Act: fetch twice (the fakes' clock is pinned: the same answers)
    result, again = _fetch(defs, instance), _fetch(defs, instance)

    # Assert
    assert result.success and again.success
    assert materialized(result) == {"raw/vendor_prices", "raw/vendor_news",
                                    "raw/vendor_metrics"}
    prices = sql(migrated_database, "select vendor, asset, count(*) from raw_vendor_prices"
                                    " group by 1, 2 order by 1, 2")
    assert [(row[0], row[1]) for row in prices] == [
        ("coingecko", "BTC"), ("coingecko", "ETH"), ("coinmarketcap", "BTC"),
        ("coinmarketcap", "ETH")]
    (news,) = sql(migrated_database, "select count(*) from raw_vendor_news")
    (metrics,) = sql(migrated_database,
                     "select count(distinct (metric, asset)) from raw_vendor_metrics")
    assert news[0] > 0 and metrics[0] == 4  # two metrics for two assets
    first_prices, second_prices = _prices_metadata(result), _prices_metadata(again)
    assert first_prices["vendors"] == "coingecko, coinmarketcap"
    assert first_prices["rows_new"] == len(prices) and second_prices["rows_new"] == 0


def _fetch(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize([*(defs.assets or ()), *(defs.asset_checks or ())],  # type: ignore[list-item]
                          selection=VENDOR_ASSETS, resources=defs.resources, instance=instance,
                          raise_on_error=False)


def _prices_metadata(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (event,) = [event for event in result.get_asset_materialization_events()
                if event.asset_key == dg.AssetKey(["raw", "vendor_prices"])]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_no_key_and_no_fake_means_no_vendor_is_asked() -> None:
    # Arrange
    from orchestration.defs.vendors.resources import VendorApis

    apis = VendorApis()

    # Act
    enabled = [vendor for vendor in ("coingecko", "coinmarketcap", "cryptopanic", "glassnode")
               if apis.enabled(vendor)]

    # Assert: a fresh clone without keys builds without vendor data instead of failing
    assert enabled == []
