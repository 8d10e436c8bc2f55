"""Walk-forward: optimise in-sample, evaluate out-of-sample, window after window.

Windows are bar positions (half-open ranges). Each fold's config is chosen by a function that
is handed *only the training bars* (a ``BarFrame`` slice): it cannot read the bars it will be
evaluated on, whatever it does (a parameter search, or training a model whose labels then end
inside the training slice). ``check_windows`` guards the windows themselves: training strictly
before testing, a purge gap of at least the label horizon between them, and test windows that
never overlap, so the out-of-sample record can be stitched into one curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.errors import InvalidValue
from research.bars import BarFrame
from research.settings import SweepSettings
from research.stats import max_drawdown, sharpe_sortino
from research.sweeps import StrategyRef, SweepOutcome, run_sweep_partition
from strategies.base import StrategyConfig
from strategies.features import FeatureSource

Chooser = Callable[[BarFrame], StrategyConfig]


class LeakageError(InvalidValue):
    """A window, a label or a feature would let evaluation data reach training."""


@dataclass(frozen=True, slots=True)
class Window:
    """One fold: train on bars ``train``, then evaluate on bars ``test``."""

    train: range
    test: range


def rolling_windows(n_bars: int, train_bars: int, test_bars: int, *, step: int | None = None,
                    purge: int = 0, anchored: bool = False) -> list[Window]:
    """Return folds of ``train_bars`` then (after ``purge`` bars) ``test_bars``, every ``step``.

    ``step`` defaults to ``test_bars``, so test windows tile the data without overlap.
    ``anchored`` grows the training window from bar 0 instead of rolling it. Only complete
    test windows are returned.
    """
    step = test_bars if step is None else step
    if min(train_bars, test_bars, step) < 1 or purge < 0:
        raise InvalidValue("train, test and step need >= 1 bar and purge >= 0")
    windows = []
    test_start = train_bars + purge
    while test_start + test_bars <= n_bars:
        train_stop = test_start - purge
        windows.append(Window(range(0 if anchored else train_stop - train_bars, train_stop),
                              range(test_start, test_start + test_bars)))
        test_start += step
    if not windows:
        raise InvalidValue(f"{n_bars} bars hold no fold of {train_bars} + {purge} + {test_bars}")
    check_windows(windows, label_horizon=purge, n_bars=n_bars)
    return windows


def check_windows(windows: Sequence[Window], label_horizon: int = 0,
                  n_bars: int | None = None) -> None:
    """Raise ``LeakageError`` unless no fold can train on what it is evaluated on.

    Per fold: both windows non-empty and within the bars; training ends before testing
    starts, with at least ``label_horizon`` bars between them (a label at the last training
    bar looks that far ahead); across folds, test windows in order and disjoint.
    """
    previous_test: range | None = None
    for k, window in enumerate(windows):
        train, test = window.train, window.test
        if train.step != 1 or test.step != 1 or not len(train) or not len(test):
            raise LeakageError(f"fold {k}: windows must be non-empty step-1 ranges")
        if train.start < 0 or (n_bars is not None and test.stop > n_bars):
            raise LeakageError(f"fold {k}: windows outside 0..{n_bars}")
        if train.stop > test.start:
            raise LeakageError(f"fold {k}: training {_show(train)} overlaps or follows "
                               f"testing {_show(test)}")
        gap = test.start - train.stop
        if gap < label_horizon:
            raise LeakageError(f"fold {k}: {gap} bars between training and testing, but labels "
                               f"look {label_horizon} bars ahead: the last training labels "
                               f"would be computed from test bars")
        if previous_test is not None and test.start < previous_test.stop:
            raise LeakageError(f"fold {k}: test {_show(test)} overlaps the previous test "
                               f"{_show(previous_test)}")
        previous_test = test


def _show(rows: range) -> str:
    return f"[{rows.start}, {rows.stop})"


def best_in_sample(strategy: StrategyRef, candidates: Sequence[StrategyConfig],
                   settings: SweepSettings | None = None, objective: str = "sharpe",
                   ) -> Chooser:
    """Return a chooser that picks the candidate with the best in-sample ``objective``.

    ``objective`` names a ``Metrics`` field (higher is better; an undefined value ranks
    last); ties go to the earlier candidate.
    """
    if not candidates:
        raise InvalidValue("best_in_sample needs at least one candidate")

    def choose(train_bars: BarFrame) -> StrategyConfig:
        best, best_score = candidates[0], -math.inf
        for config in candidates:
            metrics = run_sweep_partition(strategy, config, train_bars, settings).metrics
            value = getattr(metrics, objective)
            score = -math.inf if value is None else float(value)
            if score > best_score:
                best, best_score = config, score
        return best

    return choose


@dataclass(frozen=True, slots=True)
class Fold:
    """One fold's choice and its in-sample and out-of-sample results."""

    window: Window
    config: StrategyConfig
    in_sample: SweepOutcome
    out_of_sample: SweepOutcome


@dataclass(frozen=True, slots=True)
class WalkForwardReport:
    """Every fold, and the out-of-sample record stitched into one curve."""

    folds: list[Fold]
    oos_curve: np.ndarray
    oos_sharpe: float | None
    oos_max_drawdown: float
    oos_trades: int
    is_sharpe: float | None

    def summary(self) -> dict[str, Any]:
        """Return the figures promotion reads (``domain.promotion.BacktestMetrics.of``)."""
        return {"oos_trades": self.oos_trades, "is_sharpe": self.is_sharpe,
                "oos_sharpe": self.oos_sharpe, "oos_max_drawdown": self.oos_max_drawdown}


def walk_forward(strategy: StrategyRef, bars: BarFrame, windows: Sequence[Window],
                 choose: Chooser, settings: SweepSettings | None = None, *,
                 label_horizon: int = 0, features: FeatureSource | None = None,
                 ) -> WalkForwardReport:
    """Choose a config on each training window, evaluate it on the test window, stitch.

    ``is_sharpe`` is the mean of the folds' in-sample Sharpe ratios (folds where it is
    undefined are left out); ``oos_sharpe`` and ``oos_max_drawdown`` come from the test
    windows' equity curves chained end to start (each fold starts flat with the initial
    cash, so its returns compound onto the previous fold's end).
    """
    check_windows(windows, label_horizon, len(bars))
    folds = []
    for window in windows:
        config = choose(bars.slice(window.train))
        in_sample = run_sweep_partition(strategy, config, bars.slice(window.train), settings,
                                        features=features)
        out = run_sweep_partition(strategy, config, bars.slice(window.test), settings,
                                  features=features, keep_curve=True)
        folds.append(Fold(window, config, in_sample, out))
    curve = _stitch([fold.out_of_sample.curve for fold in folds])
    sharpe, _ = sharpe_sortino(curve, bars.min_spacing_seconds())
    in_sample_sharpes = [f.in_sample.metrics.sharpe for f in folds
                         if f.in_sample.metrics.sharpe is not None]
    return WalkForwardReport(
        folds=folds, oos_curve=curve, oos_sharpe=sharpe, oos_max_drawdown=max_drawdown(curve),
        oos_trades=sum(f.out_of_sample.metrics.n_trades for f in folds),
        is_sharpe=math.fsum(in_sample_sharpes) / len(in_sample_sharpes)
        if in_sample_sharpes else None)


def _stitch(curves: Sequence[np.ndarray | None]) -> np.ndarray:
    parts: list[np.ndarray] = []
    level = 1.0
    for curve in curves:
        assert curve is not None and len(curve)
        scaled = curve / curve[0] * level
        parts.append(scaled)
        level = float(scaled[-1])
    return np.concatenate(parts)
