"""Behaviour of the incremental indicators: validation, warm-up, edge cases, O(1), exactness."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies.indicators import ATR, EMA, RSI, SMA, BollingerBands

Indicator = SMA | EMA | RSI | ATR | BollingerBands

# name -> (factory taking a period, inputs needed before the first value)
FACTORIES: dict[str, tuple[Callable[[int], Indicator], Callable[[int], int]]] = {
    "SMA": (SMA, lambda p: p),
    "EMA": (EMA, lambda p: p),
    "RSI": (RSI, lambda p: p + 1),
    "ATR": (ATR, lambda p: p + 1),
    "BollingerBands": (BollingerBands, lambda p: p),
}
no_db = settings(database=None, deadline=None)


def push(indicator: Indicator, x: float) -> None:
    """Feed one price; ATR gets a bar with high == low == close == x."""
    if isinstance(indicator, ATR):
        indicator.update(x, x, x)
    else:
        indicator.update(x)


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("period", [0, -1, -14, 2.0, 1.5, True, "14", None])
def test_invalid_period_is_rejected(name: str, period: object) -> None:
    factory, _ = FACTORIES[name]
    with pytest.raises(ValueError, match="period"):
        factory(period)  # type: ignore[arg-type]


@pytest.mark.parametrize("nbdev", [0, 0.0, -2.0, math.nan, math.inf, True, "2"])
def test_invalid_nbdev_is_rejected(nbdev: object) -> None:
    with pytest.raises(ValueError, match="nbdev"):
        BollingerBands(20, nbdev)  # type: ignore[arg-type]


def test_defaults_and_accessors() -> None:
    assert RSI().period == 14
    assert ATR().period == 14
    bb = BollingerBands()
    assert (bb.period, bb.nbdev) == (20, 2.0)
    assert BollingerBands(5, 3).nbdev == 3.0
    assert EMA(9).alpha == 2.0 / 10


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_is_rejected_without_changing_state(name: str, bad: float) -> None:
    factory, _ = FACTORIES[name]
    indicator = factory(3)
    for x in (1.0, 2.0, 4.0, 3.0):
        push(indicator, x)
    before = (indicator.count, indicator.value)
    with pytest.raises(ValueError, match="finite"):
        push(indicator, bad)
    assert (indicator.count, indicator.value) == before
    push(indicator, 5.0)  # still usable
    assert indicator.count == 5


def test_atr_rejects_any_non_finite_price() -> None:
    atr = ATR(2)
    for bar in [(math.nan, 1.0, 1.0), (2.0, math.inf, 1.0), (2.0, 1.0, -math.inf)]:
        with pytest.raises(ValueError, match="finite"):
            atr.update(*bar)
    assert atr.count == 0


# --- warm-up ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("period", [1, 2, 5])
def test_value_is_none_until_ready(name: str, period: int) -> None:
    factory, warmup = FACTORIES[name]
    indicator = factory(period)
    assert (indicator.count, indicator.ready, indicator.value) == (0, False, None)
    for i in range(1, warmup(period) + 3):
        push(indicator, float(100 + i % 3))
        assert indicator.count == i
        assert indicator.ready is (i >= warmup(period))
        assert (indicator.value is None) is (i < warmup(period))
    if isinstance(indicator, BollingerBands):
        assert indicator.upper is not None and indicator.lower is not None


def test_bollinger_bands_are_none_before_ready() -> None:
    bb = BollingerBands(3)
    bb.update(1.0)
    bb.update(2.0)
    assert (bb.upper, bb.middle, bb.lower, bb.value) == (None, None, None, None)


# --- small worked examples ----------------------------------------------------------------


def test_sma_worked_example() -> None:
    sma = SMA(3)
    for x in (1, 2, 3, 4, 10):
        sma.update(x)
    assert sma.sum == 17
    assert sma.value == 17 / 3


def test_ema_is_seeded_with_the_sma_then_smoothed() -> None:
    ema = EMA(3)  # alpha = 0.5
    for x in (1.0, 2.0, 3.0):
        ema.update(x)
    assert ema.value == 2.0
    ema.update(4.0)
    assert ema.value == 3.0
    ema.update(1.0)
    assert ema.value == 2.0


def test_rsi_worked_example() -> None:
    rsi = RSI(2)
    for x in (10.0, 11.0, 10.0):  # changes +1, -1: avg gain 0.5, avg loss 0.5
        rsi.update(x)
    assert rsi.value == 50.0
    rsi.update(13.0)  # +3: avg gain (0.5 * 1 + 3) / 2 = 1.75, avg loss (0.5 * 1 + 0) / 2 = 0.25
    assert rsi.value == 87.5


def test_rsi_is_100_on_only_gains_and_0_on_only_losses() -> None:
    up, down = RSI(3), RSI(3)
    for i in range(10):
        up.update(100.0 + i)
        down.update(100.0 - i)
    assert up.value == 100.0
    assert down.value == 0.0


def test_atr_uses_the_previous_close_for_gaps() -> None:
    atr = ATR(2)
    atr.update(10.0, 9.0, 9.5)  # primes the previous close only
    atr.update(12.0, 11.0, 11.5)  # gap up: TR = 12 - 9.5 = 2.5
    assert not atr.ready
    atr.update(11.0, 8.0, 9.0)  # gap down: TR = 11.5 - 8 = 3.5, more than high - low = 3
    assert atr.value == (2.5 + 3.5) / 2
    atr.update(9.0, 8.5, 8.75)  # TR = high - low = 0.5; Wilder: (0.5 + (2 - 1) * 3) / 2
    assert atr.value == 1.75


def test_atr_of_period_1_is_the_true_range() -> None:
    atr = ATR(1)
    atr.update(10.0, 9.0, 9.5)
    atr.update(10.0, 9.75, 9.75)
    assert atr.value == 0.5  # previous close 9.5 to high 10
    atr.update(9.0, 8.0, 8.5)
    assert atr.value == 1.75  # previous close 9.75 to low 8


def test_bollinger_worked_example() -> None:
    bb = BollingerBands(4, 1.5)
    for x in (2.0, 4.0, 4.0, 6.0):  # mean 4, population variance 2
        bb.update(x)
    assert bb.middle == 4.0
    assert bb.upper == 4.0 + 1.5 * math.sqrt(2.0)
    assert bb.lower == 4.0 - 1.5 * math.sqrt(2.0)


# --- flat series --------------------------------------------------------------------------


@pytest.mark.parametrize("price", [7.092e-05, 46377.0, 1])
def test_flat_series_edge_cases(price: float) -> None:
    rsi, atr, bb = RSI(14), ATR(14), BollingerBands(20)
    for _ in range(40):
        rsi.update(price)
        atr.update(price, price, price)
        bb.update(price)
    # No gain and no loss: TA-Lib (C 0.8.1, the version pinned for parity) answers 0.0.
    assert rsi.value == 0.0
    assert atr.value == 0.0
    assert bb.upper == bb.middle == bb.lower == price


def test_bollinger_width_returns_to_exactly_zero_once_the_window_is_flat_again() -> None:
    bb = BollingerBands(5)
    for x in [0.1, 0.7, 1e6, 0.3, 0.2] + [0.1] * 5:
        bb.update(x)
    assert bb.upper == bb.middle == bb.lower == 0.1


def test_rsi_after_a_flat_stretch_recovers() -> None:
    rsi = RSI(3)
    for x in (5.0, 5.0, 5.0, 5.0, 6.0):
        rsi.update(x)
    assert rsi.value == 100.0


# --- O(1) ---------------------------------------------------------------------------------


class CountingFloat(float):
    """A float that counts how often an indicator converts it to an exact ratio."""

    conversions = 0

    def as_integer_ratio(self) -> tuple[int, int]:
        CountingFloat.conversions += 1
        return super().as_integer_ratio()


@pytest.mark.parametrize("make", [SMA, BollingerBands], ids=["SMA", "BollingerBands"])
def test_window_work_per_update_does_not_depend_on_the_period(
    make: Callable[[int], SMA | BollingerBands],
) -> None:
    work = {}
    for period in (3, 1_000_000):
        indicator = make(period)
        for i in range(50):
            indicator.update(CountingFloat(i))
        CountingFloat.conversions = 0
        for i in range(1000):
            indicator.update(CountingFloat(i + 0.5))
        work[period] = CountingFloat.conversions
    assert work[3] == work[1_000_000] == 1000  # one conversion per update, no rescans


def test_a_million_bar_sma_stores_only_what_it_has_seen() -> None:
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        sma = SMA(1_000_000)
        for i in range(2000):
            sma.update(100 + i)
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert not sma.ready
    assert sma.sum == sum(range(100, 2100))
    assert used < 500_000  # a preallocated million-slot buffer would need ~8 MB


def test_a_short_window_does_not_grow_with_the_series() -> None:
    sma = SMA(3)
    for i in range(1000):
        sma.update(float(i))
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        for i in range(5000):
            sma.update(float(i))
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert grown < 10_000
    assert sma.value == (4997 + 4998 + 4999) / 3


# --- exactness ----------------------------------------------------------------------------


def test_sma_has_no_drift_after_a_spike_leaves_the_window() -> None:
    # A running float sum loses the 0.1s to rounding while 1e20 is in the window.
    sma = SMA(3)
    for x in [1e20, 0.1, 0.1, 0.1]:
        sma.update(x)
    assert sma.sum == pytest.approx(0.3, rel=1e-15)
    assert sma.value == float(Fraction(0.1) * 3 / 3)


def test_int_averages_compare_exactly() -> None:
    # Means 10/3 and 20/6 are equal, and the int sums say so exactly.
    fast, slow = SMA(3), SMA(6)
    for x in (2, 4, 4, 4, 3, 3):
        fast.update(x)
        slow.update(x)
    assert fast.sum * slow.period == slow.sum * fast.period
    assert isinstance(fast.sum, int)


def test_sum_turns_float_once_a_float_arrives() -> None:
    sma = SMA(2)
    sma.update(1)
    ints_only = sma.sum
    sma.update(0.5)
    mixed = sma.sum
    sma.update(2)  # the window is [0.5, 2]; a float has been seen, so the sum stays a float
    after = sma.sum
    assert (type(ints_only), type(mixed), type(after)) == (int, float, float)
    assert (ints_only, mixed, after) == (1, 1.5, 2.5)


@no_db
@given(
    st.integers(min_value=1, max_value=12),
    st.lists(st.integers(min_value=-(10**18), max_value=10**18), min_size=1, max_size=60),
)
def test_sma_of_ints_is_exact(period: int, xs: list[int]) -> None:
    sma = SMA(period)
    for i, x in enumerate(xs):
        sma.update(x)
        window = xs[max(0, i + 1 - period) : i + 1]
        assert type(sma.sum) is int
        assert sma.sum == sum(window)
        if i + 1 >= period:
            assert sma.value == sum(window) / period
        else:
            assert sma.value is None


finite_prices = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@no_db
@given(st.integers(min_value=1, max_value=8), st.lists(finite_prices, min_size=1, max_size=40))
def test_sma_of_floats_is_the_correctly_rounded_window_mean(period: int, xs: list[float]) -> None:
    sma = SMA(period)
    for i, x in enumerate(xs):
        sma.update(x)
        if i + 1 >= period:
            exact = sum(map(Fraction, xs[i + 1 - period : i + 1]))
            assert sma.value == float(exact / period)
            assert sma.sum == float(exact)


@no_db
@given(
    st.integers(min_value=1, max_value=8),
    st.lists(finite_prices, min_size=1, max_size=40),
    st.sampled_from([1.0, 2.0, 2.5]),
)
def test_bollinger_matches_exact_population_statistics(
    period: int, xs: list[float], nbdev: float
) -> None:
    bb = BollingerBands(period, nbdev)
    for i, x in enumerate(xs):
        bb.update(x)
        if i + 1 < period:
            continue
        window = [Fraction(v) for v in xs[i + 1 - period : i + 1]]
        mean = sum(window) / period
        variance = sum((v - mean) ** 2 for v in window) / period
        middle = float(mean)
        width = math.sqrt(float(variance)) * nbdev
        assert (bb.middle, bb.upper, bb.lower) == (middle, middle + width, middle - width)


@no_db
@given(st.integers(min_value=1, max_value=10), st.lists(finite_prices, min_size=2, max_size=40))
def test_rsi_stays_within_0_and_100(period: int, xs: list[float]) -> None:
    rsi = RSI(period)
    for x in xs:
        rsi.update(x)
        assert rsi.value is None or 0.0 <= rsi.value <= 100.0
