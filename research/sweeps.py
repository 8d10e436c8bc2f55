"""Parameter sweeps: grid and seeded random configs, and the run one sweep partition performs.

A Dagster sweep asset maps each config to a dynamic partition (``partition_key``) and calls
``run_sweep_partition`` for it: the kernel backtest of that one config over the given bars, or,
for ``ma_crossover`` with no slow features, the vectorised fast path that reproduces it trade
for trade (``research.fastpath``).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from domain.errors import InvalidValue
from engine.backtest import run_backtest
from engine.metrics import Metrics
from engine.portfolio import RoundTrip
from research.bars import BarFrame
from research.discovery import find_strategy
from research.fastpath import FastPathUnsupported, run_ma_crossover
from research.settings import SweepSettings
from research.versioning import version_of
from strategies.base import Strategy, StrategyConfig
from strategies.features import FeatureSource
from strategies.ma_crossover import MACrossConfig, MACrossover

StrategyRef = type[Strategy[Any]] | str


def grid_configs(strategy: StrategyRef, fixed: Mapping[str, Any] | None = None,
                 ) -> list[StrategyConfig]:
    """Return every valid config of the search space's grid, in grid order.

    ``fixed`` sets parameters that are not swept (or pins swept ones). Combinations the config
    refuses (say ``fast >= slow``) are left out.
    """
    cls = _resolve(strategy)
    space = cls.search_space()
    pinned = dict(fixed or {})
    dims = [(name, dim) for name, dim in space.dimensions if name not in pinned]
    configs = []
    for values in itertools.product(*(dim.grid() for _, dim in dims)):
        config = _try_config(cls, {**pinned, **dict(zip((n for n, _ in dims), values,
                                                        strict=True))})
        if config is not None:
            configs.append(config)
    return configs


def random_configs(strategy: StrategyRef, count: int, seed: int,
                   fixed: Mapping[str, Any] | None = None, max_draws: int | None = None,
                   ) -> list[StrategyConfig]:
    """Return ``count`` distinct valid configs drawn from the search space with ``seed``.

    The same seed gives the same configs in the same order. Invalid or repeated draws are
    redrawn, up to ``max_draws`` (default 50 x count); fewer distinct configs than asked
    raise ``InvalidValue``.
    """
    if count < 1:
        raise InvalidValue(f"count must be >= 1, got {count}")
    cls = _resolve(strategy)
    space = cls.search_space()
    pinned = dict(fixed or {})
    names = [name for name in space.names if name not in pinned]
    dims = dict(space.dimensions)
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    configs: list[StrategyConfig] = []
    for _ in range(max_draws or 50 * count):
        draws = rng.random(len(names)).tolist()
        values = {name: dims[name].sample(u) for name, u in zip(names, draws, strict=True)}
        config = _try_config(cls, {**pinned, **values})
        if config is None or (key := config.canonical_json()) in seen:
            continue
        seen.add(key)
        configs.append(config)
        if len(configs) == count:
            return configs
    raise InvalidValue(f"found only {len(configs)} distinct valid configs of {count} asked")


def partition_key(config: StrategyConfig) -> str:
    """Return a short, stable key for a config (a Dagster dynamic partition key)."""
    return hashlib.sha256(config.canonical_json().encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    """One partition's result: which version ran, how, and its figures and round trips."""

    strategy: str
    version: str
    params: dict[str, Any]
    metrics: Metrics
    round_trips: Sequence[RoundTrip]
    path: Literal["fast", "kernel"]
    curve: np.ndarray | None = None


def run_sweep_partition(
    strategy: StrategyRef,
    params: Mapping[str, Any] | StrategyConfig,
    bars: BarFrame,
    settings: SweepSettings | None = None,
    *,
    features: FeatureSource | None = None,
    fast_path: bool = True,
    keep_curve: bool = False,
) -> SweepOutcome:
    """Backtest one config over ``bars`` and return its metrics (what one partition runs).

    ``ma_crossover`` without slow features takes the vectorised fast path unless
    ``fast_path`` is False; everything else runs the kernel (``engine.backtest``).
    ``keep_curve`` returns the bar-close equity curve too (walk-forward stitches them).
    """
    cls = _resolve(strategy)
    settings = settings or SweepSettings()
    config = params if isinstance(params, StrategyConfig) else cls.config_type.from_params(params)
    version = version_of(cls, config)
    if fast_path and cls is MACrossover and features is None:
        assert isinstance(config, MACrossConfig)
        try:
            fast = run_ma_crossover(config, bars, settings, keep_curve=keep_curve)
        except FastPathUnsupported:
            pass
        else:
            return SweepOutcome(cls.name, version, config.params(), fast.metrics,
                                fast.round_trips, "fast", fast.curve)
    instance = cls(config, [bars.instrument_id], features=features)
    result = run_backtest(bars.to_series(), instance, settings.risk(), settings.backtest_config())
    curve = np.asarray(result.curve.equity, dtype=np.float64) if keep_curve else None
    return SweepOutcome(cls.name, version, config.params(), result.metrics,
                        result.round_trips, "kernel", curve)


def _resolve(strategy: StrategyRef) -> type[Strategy[Any]]:
    return find_strategy(strategy) if isinstance(strategy, str) else strategy


def _try_config(cls: type[Strategy[Any]], values: Mapping[str, Any]) -> StrategyConfig | None:
    try:
        return cls.config_type.from_params(values)
    except InvalidValue:
        return None


def configs_from_keys(configs: Sequence[StrategyConfig]) -> dict[str, StrategyConfig]:
    """Return configs by partition key, refusing two configs with one key."""
    keyed: dict[str, StrategyConfig] = {}
    for config in configs:
        key = partition_key(config)
        if key in keyed and keyed[key] != config:
            raise InvalidValue(f"partition key {key} names two configs")
        keyed[key] = config
    return keyed
