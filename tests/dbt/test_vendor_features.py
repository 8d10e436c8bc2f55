"""Vendor features are read point-in-time: as of the bar's close, on available_at."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.dbt.conftest import BTC, ETH, Warehouse
from tests.dbt.support import SCHEMA, query

THIRD = round(Decimal(2) / Decimal(6), 12)  # (3 + 1 - 1 - 1) / (3 + 1 + 1 + 1)


def _slow(warehouse: Warehouse, instrument: str,
          timeframe: str) -> dict[datetime, dict[str, Any]]:
    rows = query(warehouse.admin_dsn,
                 f"select * from {SCHEMA}.fct_candle_slow_features"
                 f" where instrument_id = $1 and timeframe = $2", instrument, timeframe)
    return {row["open_at"]: dict(row) for row in rows}


def test_hourly_news_sentiment_counts_posts_in_the_hour_they_became_available(
    warehouse: Warehouse,
) -> None:
    # Act
    rows = query(warehouse.admin_dsn,
                 f"select asset, hour_at, available_at, posts, news_sentiment"
                 f" from {SCHEMA}.fct_feature_news_sentiment order by asset, hour_at")

    # Assert: p1 (+3/-1) and p2 (+1/-1) in 22:00; p3 (0/-9), published 23:56 but received
    # 00:02:30, in 00:00 of the next day
    got = [(r["asset"], r["hour_at"].hour, r["posts"], round(r["news_sentiment"], 12))
           for r in rows]
    assert got == [("BTC", 22, 2, THIRD), ("BTC", 0, 1, Decimal(-1)), ("ETH", 22, 1, 0)]
    assert {(r["available_at"] - r["hour_at"]).total_seconds() for r in rows} == {3600}


def test_bars_see_news_and_ranks_as_of_their_close_never_later(warehouse: Warehouse) -> None:
    # Act
    btc = _slow(warehouse, BTC, "1m")

    # Assert: every BTC bar closes before 01:00, so none sees the 00:00 hour's crash news
    assert len(btc) == 12
    assert {round(row["news_sentiment"], 12) for row in btc.values()} == {THIRD}
    assert all(row["news_available_at"] <= row["available_at"] for row in btc.values())
    # Rank 2 became available at 00:05:00: the bar closing then sees it, earlier bars rank 1
    ranks = {open_at.strftime("%H:%M"): row["market_cap_rank"] for open_at, row in btc.items()}
    assert ranks["00:03"] == 1
    assert ranks["00:04"] == 2  # closes 00:05:00, the moment rank 2 arrived
    assert ranks["00:05"] == 2
    assert ranks["23:54"] == 1


def test_a_bar_before_anything_was_available_sees_nothing(warehouse: Warehouse) -> None:
    # Act: ETH 1h bars of 2018 closed years before any vendor row arrived
    eth = _slow(warehouse, ETH, "1h")
    early = [row for open_at, row in eth.items() if open_at.year == 2018]

    # Assert
    assert early
    assert all(row["news_sentiment"] is None and row["market_cap_rank"] is None
               for row in early)
    late = [row for open_at, row in eth.items() if open_at.year == 2024]
    assert late and all(row["market_cap_rank"] == 2 for row in late)
    assert all(row["news_sentiment"] == Decimal(0) for row in late)
    assert datetime(2024, 8, 9, tzinfo=UTC) in eth  # the 00:00 trade-built bar
