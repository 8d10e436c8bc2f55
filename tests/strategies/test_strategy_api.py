"""The strategy API: typed, validated, canonical configs and their declared search ranges."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated

import pytest
from msgspec import Meta

from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from strategies.base import Strategy, StrategyConfig
from strategies.bollinger_rsi import BollingerRSIConfig
from strategies.donchian_breakout import DonchianConfig
from strategies.ma_crossover import MACrossConfig, MACrossover
from strategies.params import Choice, FloatRange, IntRange, Param
from strategies.registry import BUILTIN
from strategies.template import TemplateConfig, TemplateStrategy


class Knobs(StrategyConfig, frozen=True, kw_only=True):
    """A config exercising every kind of field."""

    period: Annotated[int, Meta(ge=2), Param(10, 30, step=10)] = 20
    width: Annotated[float, Meta(gt=0), Param(0.1, 0.3, step=0.1)] = 0.2
    rate: Annotated[float, Param(0.001, 0.1, log=True, points=3)] = 0.01
    mode: Annotated[str, Choice("fast", "slow")] = "fast"
    stop: Decimal = Decimal("0.02")
    weights: tuple[float, ...] = (1.0, 2.0)


# -- validation at construction --------------------------------------------------------------

@pytest.mark.parametrize(("fields", "problem"), [
    ({"period": "20"}, "Expected `int`, got `str`"),
    ({"period": 1}, ">= 2"),
    ({"width": 0.0}, "> 0"),
    ({"rate": float("nan")}, "finite"),
    ({"weights": (1.0, float("inf"))}, "finite"),
    ({"stop": Decimal("NaN")}, "finite"),
    ({"mode": 3}, "Expected `str`"),
])
def test_a_bad_field_is_refused_at_construction(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidValue, match=problem):
        Knobs(**fields)  # type: ignore[arg-type]


def test_construction_normalises_so_equal_parameters_look_equal() -> None:
    loose = Knobs(width=1, weights=[1, 2], stop=Decimal("0.020"))  # type: ignore[arg-type]

    assert loose == Knobs(width=1.0, weights=(1.0, 2.0), stop=Decimal("0.02"))
    assert isinstance(loose.width, float) and isinstance(loose.weights, tuple)
    assert loose.canonical_json() == Knobs(width=1.0, stop=Decimal("0.02")).canonical_json()


def test_decimals_are_normalised_without_losing_a_digit() -> None:
    long = Decimal("0.123456789012345678901234567890123")  # 33 digits: beyond Decimal's 28

    assert Knobs(stop=long).stop == long
    assert Knobs(stop=Decimal("3E-2")).canonical_json() == Knobs(
        stop=Decimal("0.0300")).canonical_json()
    assert str(Knobs(stop=Decimal("-0")).stop) == "0"


def test_canonical_json_is_sorted_complete_and_compact() -> None:
    text = MACrossConfig(slow=30).canonical_json()

    assert text == '{"fast":20,"slow":30}'
    assert json.loads(Knobs().canonical_json())["stop"] == "0.02"


def test_from_params_converts_loose_values_and_names_the_problem() -> None:
    assert MACrossConfig.from_params({"fast": "5", "slow": "20"}) == MACrossConfig(fast=5, slow=20)
    with pytest.raises(InvalidValue, match="fast < slow"):
        MACrossConfig.from_params({"fast": "50", "slow": "20"})
    with pytest.raises(InvalidValue, match="invalid parameters"):
        MACrossConfig.from_params({"fast": "abc"})
    with pytest.raises(InvalidValue, match="unknown field"):
        MACrossConfig.from_params({"fats": 5})


def test_cross_field_rules_of_the_builtins() -> None:
    with pytest.raises(InvalidValue, match="exit_period <= entry_period"):
        DonchianConfig(entry_period=10, exit_period=20)
    with pytest.raises(InvalidValue, match="oversold < overbought"):
        BollingerRSIConfig(oversold=80.0)
    with pytest.raises(InvalidValue, match="stop_loss"):
        BollingerRSIConfig(stop_loss=Decimal("1.5"))


# -- search ranges -----------------------------------------------------------------------------

def test_search_space_reads_the_annotations_in_field_order() -> None:
    space = Knobs.search_space()

    assert space.names == ("period", "width", "rate", "mode")
    dims = dict(space.dimensions)
    assert dims["period"] == IntRange(10, 30, 10)
    assert isinstance(dims["width"], FloatRange)
    assert dims["period"].grid() == (10, 20, 30)
    assert dims["width"].grid() == (0.1, 0.2, 0.3)  # cleaned: not 0.30000000000000004
    assert dims["rate"].grid() == (0.001, 0.01, 0.1)  # geometric
    assert dims["mode"].grid() == ("fast", "slow")
    assert space.grid_size() == 3 * 3 * 3 * 2


def test_sampling_maps_draws_into_the_ranges() -> None:
    space = Knobs.search_space()

    low = space.point([0.0, 0.0, 0.0, 0.0])
    high = space.point([0.999999, 0.999999, 0.999999, 0.999999])

    assert low == {"period": 10, "width": 0.1, "rate": 0.001, "mode": "fast"}
    assert high["period"] == 30 and high["mode"] == "slow"
    assert 0.1 <= high["width"] <= 0.3 and 0.001 <= high["rate"] <= 0.1


@pytest.mark.parametrize(("make", "problem"), [
    (lambda: Param(5, 1), "above high"),
    (lambda: Param(0, 1, log=True), "log"),
    (lambda: Param(1, 5, step=0), "positive"),
    (lambda: Param(1.5, 5).bind(int), "int bounds"),
    (lambda: Param(1, 5).bind(str), "int or float"),
    (Choice, "at least one"),
    (lambda: Choice(1, 1), "repeats"),
])
def test_malformed_ranges_are_refused(make: object, problem: str) -> None:
    with pytest.raises(InvalidValue, match=problem):
        make()  # type: ignore[operator]


def test_every_builtin_declares_a_search_space_of_valid_types() -> None:
    for cls in BUILTIN.values():
        space = cls.search_space()
        assert space.dimensions, cls.name
        assert space.grid_size() >= 2, cls.name


# -- the strategy object -------------------------------------------------------------------------

def test_a_strategy_needs_its_own_config_type_and_an_instrument() -> None:
    iid = InstrumentId("TEST", "BTC", "USDT")
    with pytest.raises(InvalidValue, match="needs a MACrossConfig"):
        MACrossover(Knobs(), [iid])  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="at least one instrument"):
        MACrossover(MACrossConfig(), [])


def test_context_and_features_exist_only_once_started() -> None:
    strategy: Strategy[TemplateConfig] = TemplateStrategy(
        TemplateConfig(), [InstrumentId("TEST", "BTC", "USDT")])
    with pytest.raises(RuntimeError, match="not been started"):
        _ = strategy.context
    with pytest.raises(RuntimeError, match="not been started"):
        _ = strategy.features


def test_registry_names_match_the_classes() -> None:
    assert set(BUILTIN) == {"ma_crossover", "donchian_breakout", "bollinger_rsi", "ml_logistic"}
    assert all(cls.name == name for name, cls in BUILTIN.items())
