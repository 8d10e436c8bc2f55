"""New trades -> run requests for the UTC days they fall on (and nothing when nothing changed)."""

from __future__ import annotations

import json

import dagster as dg

from tests.orchestration.conftest import sql


def _evaluate(database: object, instance: dg.DagsterInstance,
              cursor: str | None) -> dg.SensorResult:
    from orchestration.defs.market_data.sensors import new_trades

    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"database": database})
    result = new_trades(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _insert(dsn: str, *rows: tuple[str, str]) -> None:
    values = ", ".join(f"('BINANCE:BTC/USDT', '{trade_id}', '{at}', 61800, 0.01, 'buy')"
                       for trade_id, at in rows)
    sql(dsn, "insert into trades (instrument_id, trade_id, traded_at, price, qty, aggressor)"
             f" values {values}")


def test_new_and_late_trades_request_their_days_once(
    migrated_database: str, app_role: str, instance: dg.DagsterInstance,
) -> None:
    # Arrange
    from orchestration.resources import FixtureDatabase

    database = FixtureDatabase(admin_url=migrated_database, app_role=app_role)
    _insert(migrated_database, ("1", "2024-08-08T23:54:15Z"), ("2", "2024-08-08T23:59:01Z"))

    # Act: first tick (days never built), a quiet tick, then a late and a next-day trade
    first = _evaluate(database, instance, None)
    quiet = _evaluate(database, instance, first.cursor)
    _insert(migrated_database, ("0", "2024-08-08T12:00:00Z"), ("3", "2024-08-09T00:00:02Z"))
    after = _evaluate(database, instance, quiet.cursor)

    # Assert
    assert [r.partition_key for r in first.run_requests or ()] == ["2024-08-08"]
    assert not quiet.run_requests
    assert [r.partition_key for r in after.run_requests or ()] == ["2024-08-08", "2024-08-09"]
    assert json.loads(after.cursor or "{}")["2024-08-08"][0] == 3
    # a re-evaluated change keeps its run key, so the daemon starts its run only once
    again = _evaluate(database, instance, quiet.cursor)
    assert ([r.run_key for r in again.run_requests or ()]
            == [r.run_key for r in after.run_requests or ()])


def test_first_tick_skips_days_already_built(
    migrated_database: str, app_role: str, instance: dg.DagsterInstance,
) -> None:
    # Arrange: the candles of 2024-08-08 were built before the sensor ever ran
    from orchestration.resources import FixtureDatabase

    database = FixtureDatabase(admin_url=migrated_database, app_role=app_role)
    _insert(migrated_database, ("1", "2024-08-08T23:54:15Z"), ("2", "2024-08-09T00:00:01Z"))
    instance.report_runless_asset_event(
        dg.AssetMaterialization(dg.AssetKey(["fct_candles"]), partition="2024-08-08"))

    # Act
    first = _evaluate(database, instance, None)

    # Assert
    assert [r.partition_key for r in first.run_requests or ()] == ["2024-08-09"]
