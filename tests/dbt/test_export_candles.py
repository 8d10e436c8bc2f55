"""``lockgate export-candles`` writes the dbt-built candles (the warehouse's trades were loaded
with ``lockgate load-trades``), and ``--build`` builds them first."""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

from adapters.files.candles_csv import read_candles_csv
from domain.instruments import InstrumentId
from tests.dbt.conftest import Warehouse
from tests.dbt.support import lockgate, resample

EXPORT = ("export-candles", "--exchange", "binance", "--symbol", "BTC/USDT")


def _read(path: Path) -> list[tuple[str, ...]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["ts", "open", "high", "low", "close", "volume"]
        return [tuple(row) for row in reader]


def _expected(warehouse: Warehouse, seconds: int) -> list[tuple[str, ...]]:
    return [(bar.open_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
             *(f"{value.normalize():f}" for value in (bar.open, bar.high, bar.low, bar.close,
                                                       bar.volume)))
            for bar in resample(warehouse.btc_trades, seconds)]


def test_exported_candles_equal_the_resample_and_read_back(
    warehouse: Warehouse, tmp_path: Path,
) -> None:
    # Act
    one = lockgate(warehouse.lockgate_env, *EXPORT, "--timeframe", "1m", "--out",
                   str(tmp_path / "1m.csv"), "--source", "trades")
    five = lockgate(warehouse.lockgate_env, *EXPORT, "--timeframe", "5m", "--out",
                    str(tmp_path / "5m.csv"))

    # Assert: plain decimals, ts = bar open in ISO-8601 UTC, exactly the resample's values
    assert one.exit_code == 0, one.output
    assert "wrote 12 1m candles of BINANCE:BTC/USDT" in one.stdout
    assert _read(tmp_path / "1m.csv") == _expected(warehouse, 60)
    assert five.exit_code == 0, five.output
    assert _read(tmp_path / "5m.csv") == _expected(warehouse, 300)
    series = read_candles_csv(tmp_path / "1m.csv", InstrumentId("BINANCE", "BTC", "USDT"))
    assert len(series) == 12 and str(series.timeframe) == "1m"
    assert series.volume[0] == sum(
        (b.volume for b in resample(warehouse.btc_trades, 60)[:1]), Decimal(0)
    ).scaleb(series.size_precision)


def test_the_mart_source_filter_and_missing_candles(warehouse: Warehouse,
                                                    tmp_path: Path) -> None:
    # Act: the venue published no 1m BTC bars; 1h bars it did publish (2018)
    venue_1m = lockgate(warehouse.lockgate_env, *EXPORT, "--timeframe", "1m", "--out",
                        str(tmp_path / "x.csv"), "--source", "exchange")
    venue_1h = lockgate(warehouse.lockgate_env, *EXPORT, "--timeframe", "1h", "--out",
                        str(tmp_path / "1h.csv"), "--source", "exchange")
    both_1h = lockgate(warehouse.lockgate_env, *EXPORT, "--timeframe", "1h", "--out",
                        str(tmp_path / "all.csv"))

    # Assert
    assert venue_1m.exit_code == 2
    assert "no 1m candles for BINANCE:BTC/USDT from exchange" in venue_1m.stderr
    assert venue_1h.exit_code == 0 and len(_read(tmp_path / "1h.csv")) == 499
    assert both_1h.exit_code == 0, both_1h.output
    assert len(_read(tmp_path / "all.csv")) == 499 + 2  # and the two trade-built 2024 hours


def test_build_runs_dbt_first(warehouse: Warehouse, tmp_path: Path) -> None:
    # Arrange: dbt's parse cache from the warehouse build (same project and connection), so
    # this run need not parse the project again; without it dbt parses in full, also correct.
    cache = Path(str(warehouse.lockgate_env["LOCKGATE_HOME"])) / "dbt"
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(warehouse.target_path / "partial_parse.msgpack", cache)

    # Act
    built = lockgate(warehouse.lockgate_env, *EXPORT, "--timeframe", "15m", "--out",
                     str(tmp_path / "15m.csv"), "--build")

    # Assert
    assert built.exit_code == 0, built.output
    assert "building the candle models with dbt" in built.stderr
    assert (cache / "run_results.json").is_file()
    assert _read(tmp_path / "15m.csv") == _expected(warehouse, 900)
