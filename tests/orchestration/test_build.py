"""``lockgate build``'s plan: each step once, partitioned work per stretch of days with data."""

from __future__ import annotations

from datetime import date

import dagster as dg


def test_days_group_into_stretches_of_consecutive_days() -> None:
    # Arrange
    from orchestration.build import day_spans

    days = [date(2024, 8, 9), date(2018, 4, 28), date(2024, 8, 8), date(2024, 8, 8),
            date(2024, 8, 11)]

    # Act
    spans = day_spans(days)

    # Assert
    assert spans == [(date(2018, 4, 28), date(2018, 4, 28)),
                     (date(2024, 8, 8), date(2024, 8, 9)),
                     (date(2024, 8, 11), date(2024, 8, 11))]


def test_the_plan_runs_every_asset_once_and_inputs_before_the_days() -> None:
    # Arrange
    from orchestration.build import plan_build
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()

    # Act
    plans = plan_build(defs, [date(2018, 4, 28), date(2024, 8, 8), date(2024, 8, 9)])

    # Assert
    labels = [plan.label for plan in plans]
    assert labels == ["inputs", "days 2018-04-28..2018-04-28", "days 2024-08-08..2024-08-09",
                      "the rest"]
    first, last = plans[0].selection.resolve(graph), plans[-1].selection.resolve(graph)
    days = plans[1].selection.resolve(graph)
    assert dg.AssetKey(["raw", "vendor_prices"]) in first  # read by the slow features
    assert dg.AssetKey(["fct_feature_market_cap_rank"]) in first
    assert dg.AssetKey(["fct_daily_pnl_strategies"]) in last  # reads the candles
    assert dg.AssetKey(["stg_lockgate__fills"]) in last  # same dbt step: never split
    assert not (first & last) and not (first & days) and not (days & last)
    assert first | days | last == set(graph.materializable_asset_keys)
