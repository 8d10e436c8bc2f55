"""The great_expectations suites: real bars pass, each injected defect fails its own rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.fixed import from_raw
from tests.orchestration.conftest import BTC_CANDLES_1M


def real_bars() -> Any:
    """The 501 real 1m BTC/USDT bars of 2018-04-28, as the suite reads them from the database."""
    import pandas as pd

    from orchestration.defs.market_data.files import read_candles

    series = read_candles(BTC_CANDLES_1M)
    assert series is not None
    rows = [(str(series.instrument_id), str(series.timeframe),
             datetime.fromtimestamp(ts // 10**9, tz=UTC),
             *(float(from_raw(column[i], series.price_precision))
               for column in (series.open, series.high, series.low, series.close)),
             float(from_raw(series.volume[i], series.size_precision)))
            for i, ts in enumerate(series.ts_open)]
    return pd.DataFrame(rows, columns=["instrument_id", "timeframe", "open_at", "open", "high",
                                       "low", "close", "volume"])


def test_real_candles_pass_every_rule() -> None:
    # Arrange
    from orchestration.quality.candles import check_candles

    bars = real_bars()

    # Act
    outcome = check_candles(bars)

    # Assert
    assert outcome.passed, outcome.findings
    assert outcome.rows == 501
    assert outcome.evaluated >= 15


def _gap(bars: Any) -> Any:
    # 60 missing minutes out of ~500: a gap ratio of 12 % (the limit is 5 %)
    start = bars["open_at"].iloc[100]
    return bars[(bars["open_at"] < start) | (bars["open_at"] >= start + timedelta(hours=1))]


def _duplicate(bars: Any) -> Any:
    import pandas as pd

    return pd.concat([bars, bars.iloc[[200]]], ignore_index=True)


def _nan_price(bars: Any) -> Any:
    bars.loc[300, "close"] = float("nan")
    return bars


def _high_below_low(bars: Any) -> Any:
    bars.loc[400, "high"] = bars.loc[400, "low"] - 1.0
    return bars


def _price_jump(bars: Any) -> Any:
    bars.loc[450, ["open", "high", "low", "close"]] = bars.loc[450, "close"] * 10
    return bars


@pytest.mark.parametrize(("defect", "rule"), [
    (_gap, "gap_ratio"),
    (_duplicate, "duplicates"),
    (_nan_price, "nulls"),
    (_high_below_low, "ohlc"),
    (_price_jump, "price_jumps"),
])
def test_each_injected_defect_fails_its_rule(defect: Any, rule: str) -> None:
    # Arrange
    from orchestration.quality.candles import check_candles

    bars = defect(real_bars())

    # Act
    outcome = check_candles(bars)

    # Assert
    assert not outcome.passed
    assert rule in outcome.failed_rules, outcome.failed_rules
    assert outcome.metadata()["failed_rules"] != "none"


def test_feature_suite_refuses_values_out_of_range_and_nulls_after_warm_up() -> None:
    # Arrange
    import pandas as pd

    from orchestration.defs.features.layout import FeatureModel
    from orchestration.quality.features import check_feature

    model = FeatureModel(name="fct_feature_rsi", kind="bar", columns=("rsi_14",),
                         keys=("instrument_id", "timeframe", "open_at"),
                         available_at_column="available_at", params={"period": 14}, twin=None)
    start = datetime(2018, 4, 28, tzinfo=UTC)
    rows = [("BINANCE:BTC/USDT", "1m", start + timedelta(minutes=i),
             start + timedelta(minutes=i + 1), None if i < 14 else 50.0, i) for i in range(40)]
    good = pd.DataFrame(rows, columns=["instrument_id", "timeframe", "open_at", "available_at",
                                       "rsi_14", "bar_index"])
    bad = good.copy()
    bad.loc[20, "rsi_14"] = 150.0
    bad.loc[30, "rsi_14"] = None

    # Act
    passed, failed = check_feature(good, model), check_feature(bad, model)

    # Assert: warm-up nulls are fine, a null after it and an RSI of 150 are not
    assert passed.passed, passed.findings
    assert set(failed.failed_rules) == {"ranges", "nulls"}
