"""The candle suite: nulls, ranges, OHLC consistency, monotonic time, duplicate bars, gap ratio
and price-jump outliers, for any table of bars (the venue's ``exchange_candles``, the
``fct_candles`` mart).

Rules that look across rows (time steps, gaps, jumps) are computed per series (instrument and
timeframe) in pandas as helper columns, and great_expectations checks those columns; so every
rule is one expectation with a count of the rows that break it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from domain.timeframes import Timeframe
from orchestration.quality import gx as gxe
from orchestration.quality.expectations import Outcome, validate
from orchestration.quality.limits import CandleLimits

CANDLE_COLUMNS = ("instrument_id", "timeframe", "open_at", "open", "high", "low", "close",
                  "volume")
_SERIES = ["instrument_id", "timeframe"]
_PRICES = ("open", "high", "low", "close")
# Beyond any price or volume a market has printed: catches stored infinities.
_CEILING = 1e15
_MEDIAN_ABS_TO_SIGMA = 1 / 0.6745  # median |x| of a zero-mean normal is 0.6745 sigma


def check_candles(bars: pd.DataFrame, limits: CandleLimits | None = None) -> Outcome:
    """Validate a frame with `CANDLE_COLUMNS` (prices as floats, open_at as UTC datetimes)."""
    limits = limits or CandleLimits()
    rows, series = candle_frames(bars, limits)
    return validate({"candle_bars": (rows, bar_expectations()),
                     "candle_series": (series, series_expectations(limits))})


def candle_frames(bars: pd.DataFrame, limits: CandleLimits) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the bars with helper columns, and one row per series with its gap ratio."""
    frame = bars.loc[:, list(CANDLE_COLUMNS)].copy()
    for column in (*_PRICES, "volume"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    # Whole seconds whatever pandas' datetime resolution (ns, us or s) happens to be.
    opened = pd.to_datetime(frame["open_at"], utc=True)
    frame["ts"] = (opened - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    frame["tf_s"] = frame["timeframe"].map(lambda label: float(Timeframe.parse(label).seconds))
    frame = frame.sort_values([*_SERIES, "ts"], kind="stable").reset_index(drop=True)
    grouped = frame.groupby(_SERIES, sort=False)
    frame["step_s"] = grouped["ts"].diff().astype("float64")
    frame["max_oc"] = frame[["open", "close"]].max(axis=1, skipna=False)
    frame["min_oc"] = frame[["open", "close"]].min(axis=1, skipna=False)
    ratio = frame["close"] / grouped["close"].shift(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["abs_log_return"] = np.abs(np.log(ratio.where(ratio > 0)))
    frame["jump_limit"] = frame.groupby(_SERIES, sort=False)["abs_log_return"].transform(
        lambda returns: _jump_limit(returns, limits))
    series = grouped.agg(first_ts=("ts", "min"), last_ts=("ts", "max"),
                         bars=("ts", "nunique"), tf_s=("tf_s", "first")).reset_index()
    expected = (series["last_ts"] - series["first_ts"]) // series["tf_s"] + 1
    series["missing_bars"] = (expected - series["bars"]).clip(lower=0)
    series["gap_ratio"] = series["missing_bars"] / expected
    return frame, series


def bar_expectations() -> list[gxe.Expectation]:
    """Return the per-bar expectations (one rule each, named in ``meta``)."""
    out: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column=column, meta={"rule": "nulls"})
        for column in ("open_at", *_PRICES, "volume")]
    out += [gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=_CEILING,
                                              strict_min=True, meta={"rule": "ranges"})
            for column in _PRICES]
    out.append(gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0,
                                                 max_value=_CEILING, meta={"rule": "ranges"}))
    out += [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="high", column_B="max_oc", or_equal=True,
            ignore_row_if="either_value_is_missing", meta={"rule": "ohlc"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="min_oc", column_B="low", or_equal=True,
            ignore_row_if="either_value_is_missing", meta={"rule": "ohlc"}),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["instrument_id", "timeframe", "open_at"], meta={"rule": "duplicates"}),
        # Sorted per series, open times strictly increase: a zero step is a repeated bar. A
        # step shorter than the timeframe is allowed: venues publish such bars (the bundled
        # BTC/USDT 4h file has two bars 2 h apart) and they are real data, not corruption.
        gxe.ExpectColumnValuesToBeBetween(column="step_s", min_value=0, strict_min=True,
                                          meta={"rule": "monotonic_time"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="jump_limit", column_B="abs_log_return", or_equal=True,
            ignore_row_if="either_value_is_missing", meta={"rule": "price_jumps"}),
    ]
    return out


def series_expectations(limits: CandleLimits) -> list[gxe.Expectation]:
    """Return the per-series expectations (gap ratio)."""
    return [gxe.ExpectColumnValuesToBeBetween(column="gap_ratio", min_value=0,
                                              max_value=limits.max_gap_ratio,
                                              meta={"rule": "gap_ratio"})]


def _jump_limit(returns: pd.Series, limits: CandleLimits) -> float:
    values = returns.dropna()
    if values.empty:
        return limits.jump_floor
    # From the median absolute return: one wild bar cannot widen its own threshold, as it
    # would a standard deviation.
    sigma = _MEDIAN_ABS_TO_SIGMA * float(values.median())
    limit = limits.jump_sigmas * sigma
    return max(limits.jump_floor, limit if math.isfinite(limit) else limits.jump_floor)
