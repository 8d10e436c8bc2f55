"""The feature library equals TA-Lib (and the incremental twins in strategies/indicators) on
real candles, to 1e-9 relative; the feature models carry the meta Lockgate reads."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib

from strategies.indicators import ATR, EMA, RSI, SMA, BollingerBands
from tests.dbt.conftest import CANDLE_FILES, Warehouse
from tests.dbt.support import SCHEMA, query

REL = 1e-9


def _series(path: Path) -> tuple[str, str, dict[str, np.ndarray]]:
    """The instrument and timeframe Lockgate gives the file, and its prices as floats (the
    float of the decimal text, as PostgreSQL's numeric -> float8 cast makes it)."""
    from cli.sources import csv_series

    series = csv_series(path, None, None, None)
    columns = {name: np.array([float(text) for text in _texts(path, name)])
               for name in ("high", "low", "close")}
    return str(series.instrument_id), str(series.timeframe), columns


def _texts(path: Path, name: str) -> list[str]:
    index = ("ts", "open", "high", "low", "close", "volume").index(name)
    with path.open() as handle:
        next(handle)
        return [line.rstrip("\n").split(",")[index] for line in handle]


def _features(warehouse: Warehouse, instrument: str, timeframe: str,
              bars: int) -> dict[str, list[Any]]:
    """The first `bars` rows of the series: the venue's (2018), before any trade-built bar."""
    rows = query(
        warehouse.admin_dsn,
        f"select s.sma_20, s.sma_50, e.ema_20, e.ema_50, r.rsi_14, a.atr_14,"
        f" b.bb_upper_20, b.bb_middle_20, b.bb_lower_20"
        f" from {SCHEMA}.fct_feature_sma s"
        f" join {SCHEMA}.fct_feature_ema e using (instrument_id, timeframe, open_at)"
        f" join {SCHEMA}.fct_feature_rsi r using (instrument_id, timeframe, open_at)"
        f" join {SCHEMA}.fct_feature_atr a using (instrument_id, timeframe, open_at)"
        f" join {SCHEMA}.fct_feature_bollinger b using (instrument_id, timeframe, open_at)"
        f" where instrument_id = $1 and timeframe = $2"
        f" order by open_at limit $3", instrument, timeframe, bars)
    return {key: [row[key] for row in rows] for key in rows[0].keys()}  # noqa: SIM118 (a Record iterates values)


def _assert_close(name: str, ours: list[Any], reference: Sequence[Any] | np.ndarray) -> None:
    assert len(ours) == len(reference), name
    for i, (a, b) in enumerate(zip(ours, reference, strict=True)):
        if b is None or (isinstance(b, float) and math.isnan(b)):
            assert a is None, (name, i, a)
            continue
        assert a is not None, (name, i, b)
        assert abs(a - b) <= REL * max(abs(a), abs(b), 1e-300), (name, i, a, b)


def _twin(indicator: object, values: Sequence[tuple[float, ...]],
          attr: str = "value") -> list[Any]:
    out = []
    for args in values:
        indicator.update(*args)  # type: ignore[attr-defined]
        out.append(getattr(indicator, attr))
    return out


@pytest.mark.parametrize("path", CANDLE_FILES, ids=lambda p: p.name)
def test_features_equal_talib_and_the_python_twins(warehouse: Warehouse, path: Path) -> None:
    # Arrange
    instrument, timeframe, bars = _series(path)
    high, low, close = bars["high"], bars["low"], bars["close"]
    upper, middle, lower = talib.BBANDS(close, timeperiod=20, nbdevup=2, nbdevdn=2,
                                        matype=0)  # type: ignore[arg-type]  # 0 is SMA
    reference: dict[str, np.ndarray] = {
        "sma_20": talib.SMA(close, 20), "sma_50": talib.SMA(close, 50),
        "ema_20": talib.EMA(close, 20), "ema_50": talib.EMA(close, 50),
        "rsi_14": talib.RSI(close, 14), "atr_14": talib.ATR(high, low, close, 14),
        "bb_upper_20": upper, "bb_middle_20": middle, "bb_lower_20": lower,
    }
    closes = [(float(c),) for c in close]
    twins = {
        "sma_20": _twin(SMA(20), closes), "ema_50": _twin(EMA(50), closes),
        "rsi_14": _twin(RSI(14), closes),
        "atr_14": _twin(ATR(14), list(zip(high.tolist(), low.tolist(), close.tolist(),
                                          strict=True))),
        "bb_upper_20": _twin(BollingerBands(20, 2.0), closes, "upper"),
    }

    # Act
    ours = _features(warehouse, instrument, timeframe, len(close))

    # Assert
    assert len(ours["sma_20"]) == len(close) > 100
    for name, values in reference.items():
        _assert_close(name, ours[name], values)
    for name, twin in twins.items():
        _assert_close(f"twin {name}", ours[name], twin)


def test_plain_window_features_on_real_candles(warehouse: Warehouse) -> None:
    # Arrange: the repository's BTC/USDT 1h candles, recomputed with numpy
    path = CANDLE_FILES[0]
    close = np.array([float(t) for t in _texts(path, "close")])
    volume = np.array([float(t) for t in _texts(path, "volume")])
    log_returns = np.log(close[1:] / close[:-1])

    # Act
    rows = query(
        warehouse.admin_dsn,
        f"select r.return_1, r.log_return_1, v.volatility_20, z.volume_zscore_20"
        f" from {SCHEMA}.fct_feature_returns r"
        f" join {SCHEMA}.fct_feature_volatility v using (instrument_id, timeframe, open_at)"
        f" join {SCHEMA}.fct_feature_volume_zscore z using (instrument_id, timeframe, open_at)"
        f" where instrument_id = 'BINANCE:BTC/USDT' and timeframe = '1h'"
        f" and open_at < '2020-01-01' order by open_at")

    # Assert
    assert len(rows) == len(close)
    assert rows[0]["return_1"] is None
    for i in range(1, len(close)):
        assert math.isclose(rows[i]["return_1"], close[i] / close[i - 1] - 1, rel_tol=REL)
        assert math.isclose(rows[i]["log_return_1"], log_returns[i - 1], rel_tol=REL)
    for i in range(len(close)):
        vol, z = rows[i]["volatility_20"], rows[i]["volume_zscore_20"]
        if i < 19:  # 20 volumes needed
            assert z is None
        else:
            window = volume[i - 19:i + 1]
            assert math.isclose(z, (volume[i] - window.mean()) / window.std(), rel_tol=1e-7)
        if i < 20:  # 20 log returns needed
            assert vol is None
        else:
            assert math.isclose(vol, np.std(log_returns[i - 20:i], ddof=1), rel_tol=REL)


def test_feature_models_carry_the_meta_lockgate_reads(warehouse: Warehouse) -> None:
    # Arrange
    manifest = json.loads((warehouse.target_path / "manifest.json").read_text())
    models = {node["name"]: node for node in manifest["nodes"].values()
              if node["resource_type"] == "model"}

    # Act
    features = {name: node["config"]["meta"]["lockgate"] for name, node in models.items()
                if "lockgate" in node["config"].get("meta", {})}

    # Assert: kind, columns (that exist), availability lag; twins where strategies/ has one
    assert set(features) >= {"fct_feature_sma", "fct_feature_ema", "fct_feature_rsi",
                             "fct_feature_atr", "fct_feature_bollinger", "fct_feature_returns",
                             "fct_feature_news_sentiment", "fct_feature_market_cap_rank"}
    catalog = warehouse.catalog["nodes"]
    for name, meta in features.items():
        assert meta["kind"] in ("bar", "slow")
        assert meta["availability_lag"]
        assert set(meta["columns"]) <= set(catalog[f"model.lockgate.{name}"]["columns"]), name
    assert features["fct_feature_ema"]["twin"] == "strategies.indicators.EMA"
    assert features["fct_feature_volatility"]["live_path"] == "none"
    assert features["fct_feature_news_sentiment"]["live_path"] == "schedule"
