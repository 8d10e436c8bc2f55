"""Incremental candles: a late trade into a bucket already built changes that bar (and the
rollups over it) and nothing else is rewritten."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.dbt.conftest import BTC, LATE, Warehouse, late_trades
from tests.dbt.support import SCHEMA, CsvTrade, copy_trades, query, resample


def _bars(warehouse: Warehouse, timeframe: str,
          instrument: str = LATE) -> dict[datetime, dict[str, Any]]:
    rows = query(warehouse.admin_dsn,
                 f"select *, _watermark_xid::text as watermark"
                 f" from {SCHEMA}.fct_candles_{timeframe} where instrument_id = $1",
                 instrument)
    return {row["open_at"]: dict(row) for row in rows}


def test_numeric_trade_ids_break_ties_on_time(warehouse: Warehouse) -> None:
    # Act
    bar = _bars(warehouse, "1m")[datetime(2024, 8, 8, 23, 55, tzinfo=UTC)]

    # Assert: trade 9 opens (before 10), trade 100 closes (after 12): numeric, not text order
    assert (bar["open"], bar["first_trade_id"]) == (Decimal("10.0"), "9")
    assert (bar["close"], bar["last_trade_id"]) == (Decimal("10.4"), "100")


def test_a_late_trade_changes_its_bar_and_only_its_buckets(warehouse: Warehouse) -> None:
    # Arrange: built state, then a trade arrives for 23:55 after 23:56 and 23:58 were built
    minute = datetime(2024, 8, 8, 23, 55, tzinfo=UTC)
    before_1m, before_5m = _bars(warehouse, "1m"), _bars(warehouse, "5m")
    before_btc = _bars(warehouse, "1m", BTC)
    late = CsvTrade(datetime(2024, 8, 8, 23, 55, 50, tzinfo=UTC), Decimal("11.5"),
                    Decimal("0.25"), "buy", "103")
    copy_trades(warehouse.admin_dsn, LATE, [late])

    # Act
    warehouse.dbt.invoke("build", "--select", "fct_candles_1m+1")
    after_1m, after_5m = _bars(warehouse, "1m"), _bars(warehouse, "5m")
    results = json.loads((warehouse.target_path / "run_results.json").read_text())["results"]

    # Assert: the 23:55 bar took the late trade (new high, close, volume, count)...
    bar = after_1m[minute]
    assert (bar["high"], bar["close"], bar["last_trade_id"]) == (
        Decimal("11.5"), Decimal("11.5"), "103")
    assert bar["volume"] == before_1m[minute]["volume"] + Decimal("0.25")
    assert bar["trade_count"] == before_1m[minute]["trade_count"] + 1
    # ... exactly as a resample of all the instrument's trades says, in every timeframe...
    expected = resample([*late_trades(), late], 60)
    assert [(b.open_at, b.open, b.high, b.low, b.close, b.volume) for b in expected] == [
        (r["open_at"], r["open"], r["high"], r["low"], r["close"], r["volume"])
        for r in sorted(after_1m.values(), key=lambda r: r["open_at"])]
    (five,) = resample([*late_trades(), late], 300)
    assert (after_5m[five.open_at]["high"], after_5m[five.open_at]["volume"]) == (
        five.high, five.volume)
    assert after_5m[five.open_at]["watermark"] != before_5m[five.open_at]["watermark"]
    # ... while bars of other minutes and instruments were not rewritten at all
    for other in (datetime(2024, 8, 8, 23, 56, tzinfo=UTC),
                  datetime(2024, 8, 8, 23, 58, tzinfo=UTC)):
        assert after_1m[other] == before_1m[other]
    assert _bars(warehouse, "1m", BTC) == before_btc
    inserted = {r["unique_id"].rpartition(".")[2]: r["adapter_response"].get("rows_affected")
                for r in results if r["unique_id"].startswith("model.")}
    assert inserted["fct_candles_1m"] == 1
    assert all(inserted[f"fct_candles_{tf}"] == 1 for tf in ("5m", "15m", "1h", "4h", "1d"))
    assert all(r["status"] in ("success", "pass") for r in results), results
