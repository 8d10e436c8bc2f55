"""Walk-forward windows never train on what they evaluate; the runner keeps to its windows."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from domain.promotion import BacktestMetrics
from research.bars import BarFrame
from research.settings import SweepSettings
from research.sweeps import grid_configs, run_sweep_partition
from research.walkforward import (
    LeakageError,
    Window,
    best_in_sample,
    check_windows,
    rolling_windows,
    walk_forward,
)
from strategies.base import StrategyConfig
from strategies.ma_crossover import MACrossConfig
from tests.research.support import SHARED, frame

XRP_1M = SHARED / "bittrex_XRP-BTC_1m.csv"
CANDIDATES = [MACrossConfig(fast=f, slow=s) for f, s in ((5, 20), (10, 40), (20, 80))]


def test_rolling_windows_tile_the_test_periods_after_a_purge() -> None:
    windows = rolling_windows(100, train_bars=30, test_bars=10, purge=2)

    assert [w.test.start for w in windows] == [32, 42, 52, 62, 72, 82]
    assert all(len(w.train) == 30 and w.train.stop + 2 == w.test.start for w in windows)
    assert all(a.test.stop == b.test.start for a, b in pairwise(windows))


def test_anchored_windows_grow_from_the_first_bar() -> None:
    windows = rolling_windows(100, train_bars=30, test_bars=20, anchored=True)

    assert [(w.train.start, w.train.stop) for w in windows] == [(0, 30), (0, 50), (0, 70)]


@pytest.mark.parametrize(("windows", "horizon", "problem"), [
    ([Window(range(0, 50), range(40, 60))], 0, "overlaps or follows"),
    ([Window(range(50, 80), range(0, 20))], 0, "overlaps or follows"),
    ([Window(range(0, 50), range(50, 60))], 3, "labels look 3 bars ahead"),
    ([Window(range(0, 50), range(52, 60))], 3, "labels look 3 bars ahead"),
    ([Window(range(0, 50), range(50, 70)), Window(range(10, 60), range(60, 80)),
      Window(range(20, 65), range(65, 90))], 0, "overlaps the previous test"),
    ([Window(range(0, 0), range(10, 20))], 0, "non-empty"),
])
def test_leaking_windows_fail_the_check(windows: list[Window], horizon: int,
                                        problem: str) -> None:
    with pytest.raises(LeakageError, match=problem):
        check_windows(windows, label_horizon=horizon)


def test_a_purge_as_long_as_the_horizon_passes() -> None:
    check_windows([Window(range(0, 50), range(53, 60))], label_horizon=3)


def test_each_fold_chooses_from_its_training_bars_only() -> None:
    bars = frame(XRP_1M)
    windows = rolling_windows(len(bars), train_bars=3_000, test_bars=2_000, purge=5)
    seen: list[BarFrame] = []
    inner = best_in_sample("ma_crossover", CANDIDATES)

    def spy(train_bars: BarFrame) -> StrategyConfig:
        seen.append(train_bars)
        return inner(train_bars)

    report = walk_forward("ma_crossover", bars, windows, spy, label_horizon=5)

    ts = bars.column("ts_open")
    for window, given, fold in zip(windows, seen, report.folds, strict=True):
        given_ts = given.column("ts_open")
        assert len(given) == len(window.train)
        assert given_ts[0] == ts[window.train.start] and given_ts[-1] == ts[window.train.stop - 1]
        assert given.close_times()[-1] <= ts[window.test.start]  # ends before testing starts
        # The choice is the candidate with the best in-sample Sharpe on exactly those bars.
        sharpes = [run_sweep_partition("ma_crossover", c, given).metrics.sharpe
                   for c in CANDIDATES]
        best = max(range(len(CANDIDATES)),
                   key=lambda k: -math.inf if sharpes[k] is None else sharpes[k])
        assert fold.config == CANDIDATES[best]


def test_the_report_stitches_the_out_of_sample_record() -> None:
    bars = frame(XRP_1M)
    windows = rolling_windows(len(bars), train_bars=4_000, test_bars=2_000)
    settings = SweepSettings()

    report = walk_forward("ma_crossover", bars, windows,
                          best_in_sample("ma_crossover", CANDIDATES, settings), settings)

    assert len(report.oos_curve) == sum(len(w.test) for w in windows)
    assert report.oos_trades == sum(f.out_of_sample.metrics.n_trades for f in report.folds)
    assert 0 <= report.oos_max_drawdown < 1
    assert report.oos_max_drawdown >= max(f.out_of_sample.metrics.max_drawdown
                                          for f in report.folds) - 1e-12
    # What promotion reads, in the shape domain.promotion takes.
    metrics = BacktestMetrics.of(**report.summary())
    assert metrics.oos_trades == report.oos_trades


def test_the_runner_refuses_leaking_windows_before_running_anything() -> None:
    bars = frame(XRP_1M)
    calls: list[int] = []

    def choose(train_bars: BarFrame) -> StrategyConfig:
        calls.append(len(train_bars))
        return CANDIDATES[0]

    with pytest.raises(LeakageError):
        walk_forward("ma_crossover", bars, [Window(range(0, 3_000), range(2_990, 4_000))],
                     choose)
    assert calls == []


def test_grid_candidates_plug_into_best_in_sample() -> None:
    bars = frame(XRP_1M).slice(range(0, 4_000))
    candidates = grid_configs("ma_crossover", fixed={"slow": 60})

    chosen = best_in_sample("ma_crossover", candidates, objective="total_return")(bars)

    returns = {c.fast: run_sweep_partition("ma_crossover", c, bars).metrics.total_return
               for c in candidates}
    assert returns[chosen.fast] == max(returns.values())  # type: ignore[attr-defined]
