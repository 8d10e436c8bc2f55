"""Exact value types for prices, quantities and money.

They wrap ``Decimal``, refuse floats (whose binary noise would leak into money), NaN, infinity
and negative sizes, and optionally check a precision (the number of decimal places allowed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from domain.errors import InvalidValue

Number = str | int | Decimal


def _exact(value: Any, what: str) -> Decimal:
    if isinstance(value, bool | float):
        kind = type(value).__name__
        raise InvalidValue(f"{what} must be given as str, int or Decimal, not {kind}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except ArithmeticError as exc:
            raise InvalidValue(f"{what} {value!r} is not a decimal number") from exc
    else:
        raise InvalidValue(f"{what} must be str, int or Decimal, not {type(value).__name__}")
    if not result.is_finite():
        raise InvalidValue(f"{what} must be finite, got {value!r}")
    return result


def _check_precision(value: Decimal, precision: int | None, what: str) -> None:
    if precision is None:
        return
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > precision:
        raise InvalidValue(f"{what} {value} has more than {precision} decimal places")


class _ExactValue:
    """Common behaviour of the exact value types: comparison, hashing, arithmetic to Decimal."""

    __slots__ = ("_value",)
    _what = "value"

    def __init__(self, value: Number) -> None:
        self._value = _exact(value, self._what)

    @property
    def value(self) -> Decimal:
        """Return the exact decimal."""
        return self._value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _ExactValue):
            return type(self) is type(other) and self._value == other._value
        return NotImplemented

    def __lt__(self, other: Self) -> bool:
        return self._value < other._value

    def __le__(self, other: Self) -> bool:
        return self._value <= other._value

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._value))

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self._value}')"

    def __float__(self) -> float:
        return float(self._value)


class Price(_ExactValue):
    """A strictly positive, finite price in the quote currency."""

    __slots__ = ()
    _what = "price"

    def __init__(self, value: Number, precision: int | None = None) -> None:
        super().__init__(value)
        if self._value <= 0:
            raise InvalidValue(f"price must be positive, got {self._value}")
        _check_precision(self._value, precision, self._what)


class Quantity(_ExactValue):
    """A non-negative, finite size in the base asset."""

    __slots__ = ()
    _what = "quantity"

    def __init__(self, value: Number, precision: int | None = None) -> None:
        super().__init__(value)
        if self._value < 0:
            raise InvalidValue(f"quantity must not be negative, got {self._value}")
        _check_precision(self._value, precision, self._what)


class Money(_ExactValue):
    """A finite amount of one currency; negative amounts are allowed (losses, debits)."""

    __slots__ = ("currency",)
    _what = "amount"

    def __init__(self, value: Number, currency: str) -> None:
        super().__init__(value)
        if not currency or not currency.isalnum() or not currency.isupper():
            raise InvalidValue(f"currency must be an upper-case code like 'USDT', got {currency!r}")
        self.currency = currency

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money):
            return self.currency == other.currency and self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Money", self.currency, self._value))

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self._value + other._value, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self._value - other._value, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self._value < other._value

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self._value <= other._value

    def __neg__(self) -> Money:
        return Money(-self._value, self.currency)

    def __str__(self) -> str:
        return f"{self._value} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self._value}', '{self.currency}')"

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidValue(f"cannot mix {self.currency} and {other.currency}")
