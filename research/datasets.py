"""Feature tables for model training, with labels that never look past the decision time.

One row per bar t (the decision is taken at t's close):

- features: ``strategies.ml.FeatureSpec``'s, computed by the very ``FeatureState`` the strategy
  runs in the kernel, fed closes up to and including t, so training and inference cannot
  disagree and a feature cannot see a later bar;
- ``label``: 1 when close[t + horizon] / close[t] - 1 > threshold, else 0; null when bar
  t + horizon is not in the bars given (the label would need data that is not there);
- ``bar``, ``ts`` (t's close time, UTC ns), ``label_bar`` (t + horizon) and ``label_ts`` (the
  close time of that bar): what the label depends on, for training windows to purge.

``check_point_in_time`` proves the property on data for any table builder: a builder whose
feature peeks ahead, or whose label uses more than its declared horizon, fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from domain.errors import InvalidValue
from research.bars import BarFrame
from research.walkforward import LeakageError
from strategies.ml.features import FeatureSpec

Builder = Callable[[BarFrame], pl.DataFrame]
KEY_COLUMNS = ("bar", "ts", "label", "label_bar", "label_ts")


def feature_table(bars: BarFrame, spec: FeatureSpec, horizon: int,
                  threshold: float = 0.0) -> pl.DataFrame:
    """Return the point-in-time feature table of ``bars`` (rows before warm-up dropped)."""
    if horizon < 1:
        raise InvalidValue(f"the label horizon must be >= 1 bar, got {horizon}")
    closes = bars.column("close")
    state = spec.state()
    rows: list[tuple[float, ...]] = []
    kept: list[int] = []
    for t, close in enumerate(closes.tolist()):
        features = state.update(close)
        if features is not None:
            rows.append(features)
            kept.append(t)
    names = spec.names()
    index = np.asarray(kept, dtype=np.int64)
    close_ts = bars.close_times()
    label_bar = index + horizon
    last = len(closes) - 1
    ahead = np.minimum(label_bar, last)  # clipped only where the label is null anyway
    table = pl.DataFrame({
        "bar": index,
        "ts": close_ts[index],
        **{name: np.asarray([row[j] for row in rows], dtype=np.float64)
           for j, name in enumerate(names)},
        "up": closes[ahead] / closes[index] - 1.0 > threshold,
        "available": label_bar <= last,
        "label_bar": label_bar,
        "ahead_ts": close_ts[ahead],
    })
    available = pl.col("available")
    return table.select(
        "bar", "ts", *names,
        label=pl.when(available).then(pl.col("up").cast(pl.Int8)),
        label_bar="label_bar",
        label_ts=pl.when(available).then(pl.col("ahead_ts")),
    )


def training_rows(table: pl.DataFrame, train: range) -> pl.DataFrame:
    """Return labelled rows decided in ``train`` whose label ends inside ``train`` too.

    Purging rows whose label would reach the bars after the window is what keeps the last
    training labels from being computed from evaluation data.
    """
    return table.filter(pl.col("bar").is_between(train.start, train.stop - 1)
                        & pl.col("label").is_not_null()
                        & (pl.col("label_bar") < train.stop))


def check_point_in_time(build: Builder, bars: BarFrame, cuts: Sequence[int],
                        feature_columns: Sequence[str]) -> None:
    """Raise ``LeakageError`` if the table ``build`` makes is not point-in-time on ``bars``.

    For each cut c, the table built from bars[:c] (the past only) must agree with the one
    built from all bars: on every feature of every row decided before c, and on the label of
    every row whose label bar is before c; and it must leave null every label that would need
    bar c or later. A feature that reads a later bar, or a label that reads past its declared
    ``label_bar``, changes when the future is cut off, and is caught.
    """
    full = build(bars)
    _check_columns(full, feature_columns)
    if not (full["label_bar"] > full["bar"]).all():
        raise LeakageError("a label must come from bars after its decision bar")
    for cut in cuts:
        if not 0 < cut < len(bars):
            raise InvalidValue(f"cut {cut} is not inside 1..{len(bars) - 1}")
        past = build(bars.slice(range(0, cut)))
        _check_columns(past, feature_columns)
        joined = full.join(past, on="bar", how="inner", suffix="_past")
        if joined.height != past.height:
            raise LeakageError(f"cut {cut}: the truncated table has rows the full one lacks")
        for name in feature_columns:
            differs = joined.filter(pl.col(name).ne_missing(pl.col(f"{name}_past")))
            if differs.height:
                raise LeakageError(f"feature {name} at bar {differs['bar'][0]} changes when "
                                   f"bars from {cut} on are removed: it looks ahead")
        settled = joined.filter(pl.col("label_bar") < cut)
        changed = settled.filter(pl.col("label").ne_missing(pl.col("label_past")))
        if changed.height:
            raise LeakageError(f"label at bar {changed['bar'][0]} changes when bars from {cut} "
                               f"on are removed: it reads past its label bar")
        unknowable = joined.filter((pl.col("label_bar_past") >= cut)
                                   & pl.col("label_past").is_not_null())
        if unknowable.height:
            raise LeakageError(f"label at bar {unknowable['bar'][0]} is set although it needs "
                               f"bar {unknowable['label_bar_past'][0]} >= {cut}")


def _check_columns(table: pl.DataFrame, feature_columns: Sequence[str]) -> None:
    missing = [name for name in (*KEY_COLUMNS, *feature_columns) if name not in table.columns]
    if missing:
        raise InvalidValue(f"feature table lacks columns {missing}")
