"""Point-in-time feature tables, leak checks that bite, and the trained model as an artifact."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from domain.errors import InvalidValue
from research.bars import BarFrame
from research.datasets import check_point_in_time, feature_table, training_rows
from research.training import train_logistic, trained_chooser
from research.walkforward import LeakageError, rolling_windows, walk_forward
from strategies.ml import FeatureSpec, MLConfig, decode_model
from tests.research.support import SHARED, frame

SPEC = FeatureSpec(lags=3, rsi_period=14, sma_period=20)
HORIZON, THRESHOLD = 5, 0.0
NAMES = list(SPEC.names())
XRP_1M = SHARED / "bittrex_XRP-BTC_1m.csv"


def bars(n: int = 3_000) -> BarFrame:
    return frame(XRP_1M).slice(range(0, n))


def build(b: BarFrame) -> pl.DataFrame:
    return feature_table(b, SPEC, HORIZON, THRESHOLD)


# -- the table -------------------------------------------------------------------------------

def test_features_are_the_strategys_and_labels_look_exactly_horizon_bars_ahead() -> None:
    b = bars(400)
    table = build(b)
    closes = b.column("close")

    state = SPEC.state()
    expected = [state.update(c) for c in closes.tolist()]
    for row in table.iter_rows(named=True):
        t = row["bar"]
        assert tuple(row[n] for n in NAMES) == expected[t]
        assert row["label_bar"] == t + HORIZON
        if t + HORIZON < len(b):
            assert row["label"] == int(closes[t + HORIZON] / closes[t] - 1 > THRESHOLD)
            assert row["label_ts"] == b.close_times()[t + HORIZON]
        else:
            assert row["label"] is None and row["label_ts"] is None
    assert table["bar"][0] == SPEC.warmup() - 1


def test_the_table_is_point_in_time() -> None:
    check_point_in_time(build, bars(600), cuts=[100, 250, 597], feature_columns=NAMES)


def test_a_feature_that_peeks_at_the_next_bar_fails_the_check() -> None:
    def peeking(b: BarFrame) -> pl.DataFrame:
        nxt = pl.Series(np.append(b.column("close")[1:], 0)).cast(pl.Float64)
        return build(b).with_columns(peek=nxt.gather(build(b)["bar"]))

    with pytest.raises(LeakageError, match=r"feature peek .* looks ahead"):
        check_point_in_time(peeking, bars(600), cuts=[300], feature_columns=[*NAMES, "peek"])


def test_a_label_that_reads_past_its_declared_horizon_fails_the_check() -> None:
    def leaking(b: BarFrame) -> pl.DataFrame:
        # The label uses horizon + 1 bars but claims horizon: it reads one bar too far.
        real = feature_table(b, SPEC, HORIZON + 1, THRESHOLD)
        return real.with_columns(label_bar=pl.col("bar") + HORIZON)

    with pytest.raises(LeakageError, match=r"reads past its label bar|is set although"):
        check_point_in_time(leaking, bars(600), cuts=[300], feature_columns=NAMES)


def test_a_label_filled_in_without_its_future_fails_the_check() -> None:
    def guessing(b: BarFrame) -> pl.DataFrame:
        return build(b).with_columns(pl.col("label").fill_null(0))

    with pytest.raises(LeakageError, match="is set although it needs"):
        check_point_in_time(guessing, bars(600), cuts=[300], feature_columns=NAMES)


def test_a_label_from_the_past_fails_the_check() -> None:
    def backwards(b: BarFrame) -> pl.DataFrame:
        return build(b).with_columns(label_bar=pl.col("bar"))

    with pytest.raises(LeakageError, match="after its decision bar"):
        check_point_in_time(backwards, bars(600), cuts=[300], feature_columns=NAMES)


def test_training_rows_purge_labels_that_reach_past_the_window() -> None:
    table = build(bars(1_000))

    rows = training_rows(table, range(100, 500))

    assert rows["bar"].min() == 100
    assert rows["label_bar"].max() == 499  # the last row's label ends inside the window
    assert rows["bar"].max() == 499 - HORIZON
    assert rows["label"].null_count() == 0


# -- the model -----------------------------------------------------------------------------------

def test_the_artifact_is_json_named_by_its_hash_and_scores_like_sklearn() -> None:
    table = build(bars())
    train = range(0, 2_500)

    artifact = train_logistic(table, SPEC, HORIZON, THRESHOLD, train)

    document = json.loads(artifact.payload)  # plain JSON: nothing executes on loading
    assert document["format"] == "lockgate.logistic/1" and len(document["coef"]) == len(NAMES)
    assert decode_model(artifact.payload, artifact.sha256) == artifact.model
    rows = training_rows(table, train)
    x = rows.select(NAMES).to_numpy()
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1_000))
    reference.fit(x, rows["label"].to_numpy())
    expected = reference.predict_proba(x)[:, 1]
    ours = np.asarray([artifact.model.probability(tuple(r)) for r in x])
    assert np.allclose(ours, expected, rtol=0, atol=1e-9)
    assert artifact.model.trained_rows == rows.height
    assert artifact.model.trained_until_ts == bars().close_times()[2_499]


def test_the_artifact_becomes_a_config_and_trades_in_the_kernel() -> None:
    table = build(bars())
    artifact = train_logistic(table, SPEC, HORIZON, THRESHOLD, range(0, 2_000))

    config = artifact.config(enter_above=0.5, exit_below=0.5)

    assert isinstance(config, MLConfig) and config.model_sha256 == artifact.sha256
    from research.sweeps import run_sweep_partition
    outcome = run_sweep_partition("ml_logistic", config, bars().slice(range(2_000, 3_000)))
    assert outcome.path == "kernel" and outcome.metrics.n_trades > 0


def test_one_class_has_nothing_to_learn() -> None:
    table = build(bars(400)).with_columns(pl.lit(1, dtype=pl.Int8).alias("label"))

    with pytest.raises(InvalidValue, match="single class"):
        train_logistic(table, SPEC, HORIZON, THRESHOLD)


def test_walk_forward_models_are_trained_before_their_test_windows() -> None:
    b = frame(XRP_1M)
    windows = rolling_windows(len(b), train_bars=4_000, test_bars=2_000, purge=HORIZON)
    choose = trained_chooser(SPEC, HORIZON, THRESHOLD, enter_above=0.52, exit_below=0.5)

    report = walk_forward("ml_logistic", b, windows, choose, label_horizon=HORIZON)

    opens = b.column("ts_open")
    for fold in report.folds:
        model = fold.config.model  # type: ignore[attr-defined]
        # Every label the model learnt from closed before its test window opened.
        assert model.trained_until_ts <= opens[fold.window.test.start]
        assert model.trained_until_ts <= b.close_times()[fold.window.train.stop - 1]
        assert model.trained_from_ts >= b.close_times()[fold.window.train.start]
    assert len({f.config.model_sha256 for f in report.folds}) == len(report.folds)  # type: ignore[attr-defined]
