"""Exact value types (Price, Quantity, Money) and the fixed-point helpers of domain.fixed."""

from __future__ import annotations

import operator
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValue
from domain.fixed import decimal_places, from_raw, parse_raw, to_raw
from domain.values import Money, Price, Quantity

NOT_FINITE = ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", Decimal("NaN"),
              Decimal("Infinity"), Decimal("-Infinity")]
NOT_NUMBERS = ["", "abc", "1.2.3", "1,5"]
FLOATS = [1.5, 0.1, float("nan"), float("inf")]


# -- Price ---------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["1", "0.01", 5, Decimal("123.456"), "1E+3"])
def test_price_keeps_the_exact_decimal(raw):
    # Act
    price = Price(raw)

    # Assert
    assert price.value == Decimal(raw)
    assert isinstance(price.value, Decimal)


@pytest.mark.parametrize("raw", NOT_FINITE)
def test_price_refuses_nan_and_infinity(raw):
    with pytest.raises(InvalidValue, match="finite"):
        Price(raw)


@pytest.mark.parametrize("raw", FLOATS)
def test_price_refuses_floats(raw):
    with pytest.raises(InvalidValue, match="float"):
        Price(raw)


def test_price_refuses_bools_and_other_types():
    with pytest.raises(InvalidValue):
        Price(True)
    with pytest.raises(InvalidValue):
        Price(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", NOT_NUMBERS)
def test_price_refuses_text_that_is_no_number(raw):
    with pytest.raises(InvalidValue, match="not a decimal number"):
        Price(raw)


@pytest.mark.parametrize("raw", ["0", "0.000", "-1", "-0.01", Decimal("-0")])
def test_price_refuses_zero_and_negatives(raw):
    with pytest.raises(InvalidValue, match="positive"):
        Price(raw)


@pytest.mark.parametrize(("raw", "precision"), [("1.23", 2), ("1.2300", 2), ("100", 0),
                                               ("1E+2", 0), ("0.5", 8)])
def test_price_accepts_values_within_precision(raw, precision):
    assert Price(raw, precision=precision).value == Decimal(raw)


@pytest.mark.parametrize(("raw", "precision"), [("1.234", 2), ("0.5", 0), ("0.000000001", 8)])
def test_price_refuses_more_decimal_places_than_its_precision(raw, precision):
    with pytest.raises(InvalidValue, match=f"more than {precision} decimal places"):
        Price(raw, precision=precision)


# -- Quantity ------------------------------------------------------------------------------
def test_quantity_allows_zero():
    assert Quantity("0").value == 0


@pytest.mark.parametrize("raw", ["-1", "-0.00000001", -3])
def test_quantity_refuses_negatives(raw):
    with pytest.raises(InvalidValue, match="negative"):
        Quantity(raw)


@pytest.mark.parametrize("raw", NOT_FINITE)
def test_quantity_refuses_nan_and_infinity(raw):
    with pytest.raises(InvalidValue):
        Quantity(raw)


@pytest.mark.parametrize("raw", FLOATS)
def test_quantity_refuses_floats(raw):
    with pytest.raises(InvalidValue, match="float"):
        Quantity(raw)


def test_quantity_checks_precision():
    assert Quantity("0.001", precision=3).value == Decimal("0.001")
    with pytest.raises(InvalidValue, match="more than 3 decimal places"):
        Quantity("0.0001", precision=3)


# -- Money ---------------------------------------------------------------------------------
def test_money_allows_negative_amounts():
    assert Money("-12.5", "USDT").value == Decimal("-12.5")


@pytest.mark.parametrize("raw", NOT_FINITE)
def test_money_refuses_nan_and_infinity(raw):
    with pytest.raises(InvalidValue):
        Money(raw, "USDT")


@pytest.mark.parametrize("raw", FLOATS)
def test_money_refuses_floats(raw):
    with pytest.raises(InvalidValue, match="float"):
        Money(raw, "USDT")


@pytest.mark.parametrize("currency", ["", "usdt", "US DT", "US-D", "Usdt"])
def test_money_refuses_malformed_currency_codes(currency):
    with pytest.raises(InvalidValue, match="currency"):
        Money("1", currency)


def test_money_adds_subtracts_and_negates_within_one_currency():
    # Arrange
    a, b = Money("10.10", "USDT"), Money("0.05", "USDT")

    # Act / Assert
    assert a + b == Money("10.15", "USDT")
    assert a - b == Money("10.05", "USDT")
    assert -a == Money("-10.10", "USDT")
    assert str(a + b) == "10.15 USDT"


def test_money_adding_across_currencies_raises():
    with pytest.raises(InvalidValue, match="cannot mix USDT and BTC"):
        Money("1", "USDT") + Money("1", "BTC")


def test_money_subtracting_across_currencies_raises():
    with pytest.raises(InvalidValue, match="cannot mix"):
        Money("1", "USDT") - Money("1", "BTC")


@pytest.mark.parametrize("compare", [operator.lt, operator.ge])
def test_money_ordering_across_currencies_raises(compare):
    # Ordering 1 BTC against 2 USDT has no meaning: it must not quietly compare the numbers.
    with pytest.raises(InvalidValue, match="cannot mix"):
        compare(Money("1", "BTC"), Money("2", "USDT"))


def test_money_equality_needs_the_same_currency_and_amount():
    assert Money("1.0", "USDT") == Money("1", "USDT")
    assert Money("1", "USDT") != Money("1", "BTC")
    assert Money("1", "USDT") != Money("2", "USDT")


# -- equality and hashing ------------------------------------------------------------------
def test_equal_values_are_equal_and_hash_alike():
    assert Price("1.50") == Price("1.5")
    assert hash(Price("1.50")) == hash(Price("1.5"))
    assert hash(Money("2.0", "USDT")) == hash(Money("2", "USDT"))
    assert len({Quantity("3"), Quantity("3.000"), Quantity("4")}) == 2


def test_values_of_different_types_are_never_equal():
    assert Price("1") != Quantity("1")
    assert Price("1") != Money("1", "USDT")
    assert Price("1") != Decimal(1)
    assert len({Price("1"), Quantity("1")}) == 2


def test_values_order_by_amount():
    assert Price("1.5") < Price("2")
    assert Quantity("2") <= Quantity("2.0")
    assert sorted([Price("3"), Price("1"), Price("2")]) == [Price("1"), Price("2"), Price("3")]


def test_repr_and_float():
    assert repr(Price("1.5")) == "Price('1.5')"
    assert repr(Money("2", "BTC")) == "Money('2', 'BTC')"
    assert float(Quantity("0.25")) == 0.25


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("1e-12"),
                   max_value=Decimal("1e12"), places=12))
def test_price_holds_any_positive_finite_decimal_exactly(value):
    assert Price(value).value == value
    assert Price(str(value)) == Price(value)


# -- domain.fixed --------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "places"), [("7010", 0), ("6858.99", 2), ("3005.47648", 5),
                                              ("1.10", 2), ("1e-3", 3), ("1.5e-3", 4),
                                              ("1.50e2", 0), (".5", 1)])
def test_decimal_places_counts_digits_after_the_point(text, places):
    assert decimal_places(text) == places


@pytest.mark.parametrize(("text", "precision", "raw"), [("6858.99", 2, 685899), ("7010", 2, 701000),
                                                        ("0.00000001", 8, 1), ("1.5e-3", 4, 15),
                                                        (" 12.5 ", 1, 125), ("0", 3, 0)])
def test_parse_raw_scales_exactly(text, precision, raw):
    assert parse_raw(text, precision) == raw


@pytest.mark.parametrize(("text", "precision"), [("1.234", 2), ("0.5", 0), ("1e-9", 8)])
def test_parse_raw_refuses_lost_digits(text, precision):
    with pytest.raises(InvalidValue, match=f"more than {precision} decimal places"):
        parse_raw(text, precision)


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "abc", "", "1.2.3"])
def test_parse_raw_refuses_non_numbers(text):
    with pytest.raises(InvalidValue):
        parse_raw(text, 2)


def test_to_raw_refuses_lost_digits():
    with pytest.raises(InvalidValue, match="more than 2 decimal places"):
        to_raw(Decimal("1.005"), 2)


def test_from_raw_is_exact():
    assert from_raw(685899, 2) == Decimal("6858.99")
    assert from_raw(1, 8) == Decimal("0.00000001")


precisions = st.integers(min_value=0, max_value=12)


@st.composite
def decimal_at_precision(draw):
    """A decimal with at most ``precision`` places, up to 15 integer digits (<= 27 digits)."""
    precision = draw(precisions)
    raw = draw(st.integers(min_value=-(10**15) * 10**precision, max_value=10**15 * 10**precision))
    return Decimal(raw).scaleb(-precision), precision, raw


@given(decimal_at_precision())
def test_to_raw_from_raw_round_trip(case):
    value, precision, raw = case
    assert to_raw(value, precision) == raw
    assert from_raw(to_raw(value, precision), precision) == value


@given(decimal_at_precision())
def test_parse_raw_round_trips_the_decimal_text(case):
    value, precision, raw = case
    assert parse_raw(str(value), precision) == raw
    assert parse_raw(format(value, "f"), precision) == raw


@given(decimal_at_precision(), st.integers(min_value=1, max_value=9))
def test_parse_raw_refuses_one_digit_too_many(case, extra_digit):
    value, precision, _ = case
    finer = value + Decimal(extra_digit).scaleb(-(precision + 1))
    with pytest.raises(InvalidValue, match="decimal places"):
        parse_raw(str(finer), precision)
    with pytest.raises(InvalidValue, match="decimal places"):
        to_raw(finer, precision)


# Instruments allow 18 decimal places; volumes of 1e11+ units at that precision need about 30
# significant digits, more than the default decimal context's 28.
LONG_TEXT = "123456789012.123456789012345678"


def _exact_or_refused(convert):
    try:
        return convert()
    except InvalidValue:
        return "refused"


def test_parse_raw_keeps_all_digits_of_a_long_number_or_refuses_it():
    # Act
    outcome = _exact_or_refused(lambda: parse_raw(LONG_TEXT, 18))

    # Assert: refusing is acceptable; silently rounding the last digits is not
    assert outcome in (123456789012123456789012345678, "refused")


def test_to_raw_keeps_all_digits_of_a_long_number_or_refuses_it():
    outcome = _exact_or_refused(lambda: to_raw(Decimal(LONG_TEXT), 18))
    assert outcome in (123456789012123456789012345678, "refused")


def test_from_raw_is_exact_for_long_raw_ints():
    # Arrange
    raw = 10**30 + 1

    # Act
    value = from_raw(raw, 2)

    # Assert
    assert value == Decimal("10000000000000000000000000000.01")
