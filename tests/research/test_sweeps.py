"""Grid and seeded random sweeps from a strategy's search space, and one partition's run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from research.discovery import UnknownStrategy, find_strategy, strategy_names
from research.settings import SweepSettings
from research.sweeps import (
    grid_configs,
    partition_key,
    random_configs,
    run_sweep_partition,
)
from research.versioning import version_of
from strategies.donchian_breakout import DonchianBreakout, DonchianConfig
from strategies.ma_crossover import MACrossConfig, MACrossover
from tests.research.support import LOCAL, frame

BTC_1H = LOCAL / "binance_BTC-USDT_1h.csv"


def test_the_grid_is_every_valid_combination_in_order() -> None:
    configs = grid_configs(MACrossover)

    fasts = range(5, 51, 5)
    slows = range(20, 201, 10)
    expected = [MACrossConfig(fast=f, slow=s) for f in fasts for s in slows if f < s]
    assert configs == expected


def test_fixed_parameters_pin_the_grid() -> None:
    configs = grid_configs("donchian_breakout", fixed={"atr_period": 14, "stop_atr": "3"})

    assert configs and all(c.atr_period == 14 and c.stop_atr == 3.0 for c in configs)
    assert all(c.exit_period <= c.entry_period for c in configs)  # invalid ones left out
    assert len(configs) == 6 * 6 - 6  # entry 10..60 x exit 5..30, less 6 with exit > entry


def test_random_configs_are_reproducible_distinct_and_in_range() -> None:
    first = random_configs(MACrossover, 25, seed=7)

    assert first == random_configs(MACrossover, 25, seed=7)
    assert first != random_configs(MACrossover, 25, seed=8)
    assert len({c.canonical_json() for c in first}) == 25
    assert all(5 <= c.fast <= 50 and 20 <= c.slow <= 200 and c.fast < c.slow for c in first)
    assert all(c.fast % 5 == 0 and c.slow % 10 == 0 for c in first)  # on the declared grid


def test_random_configs_say_when_the_space_is_too_small() -> None:
    with pytest.raises(InvalidValue, match="distinct valid configs"):
        random_configs(MACrossover, 10, seed=1, fixed={"fast": 5, "slow": 20})


def test_partition_keys_are_stable_and_tell_configs_apart() -> None:
    keys = {partition_key(c) for c in grid_configs(MACrossover)}

    assert len(keys) == len(grid_configs(MACrossover))
    assert partition_key(MACrossConfig(fast=5, slow=20)) == partition_key(
        MACrossConfig.from_params({"fast": "5", "slow": "20"}))


def test_a_partition_runs_the_kernel_for_any_strategy_and_names_its_version() -> None:
    bars = frame(BTC_1H)
    config = DonchianConfig(entry_period=20, exit_period=10)

    outcome = run_sweep_partition("donchian_breakout", config.params(), bars)

    assert outcome.path == "kernel"
    assert outcome.version == version_of(DonchianBreakout, config)
    assert outcome.params == config.params()
    assert outcome.metrics.n_trades == len(outcome.round_trips) > 0


def test_a_partition_uses_its_settings() -> None:
    bars = frame(BTC_1H)
    cheap = run_sweep_partition("ma_crossover", {"fast": 5, "slow": 20}, bars,
                                SweepSettings(fee_bps=Decimal(0)))
    dear = run_sweep_partition("ma_crossover", {"fast": 5, "slow": 20}, bars,
                               SweepSettings(fee_bps=Decimal(50)))

    assert cheap.metrics.n_trades == dear.metrics.n_trades
    assert cheap.metrics.fees_paid == 0 < dear.metrics.fees_paid
    assert cheap.metrics.final_equity > dear.metrics.final_equity


def test_strategies_are_found_by_name() -> None:
    assert find_strategy("bollinger_rsi").name == "bollinger_rsi"
    assert {"ma_crossover", "donchian_breakout", "bollinger_rsi", "ml_logistic"} <= set(
        strategy_names())
    with pytest.raises(UnknownStrategy, match="known: "):
        find_strategy("no_such_strategy")


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(InvalidValue, match="position_pct"):
        SweepSettings(position_pct=Decimal(0))
    with pytest.raises(InvalidValue, match="initial cash"):
        SweepSettings(initial_cash=Decimal(-1))
