"""Fixed-point helpers: the kernel's exact representation of market prices and sizes.

A price or size travels through the hot path as a Python ``int`` ("raw") scaled by
``10 ** precision``; ``Decimal`` is used where exact division is needed (orders, fills, cash).
See ARCHITECTURE.md, "Number representation".
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from domain.errors import InvalidValue

_POW10: list[int] = [10**i for i in range(40)]


def pow10(n: int) -> int:
    """Return ``10 ** n`` from a small cache."""
    return _POW10[n] if n < len(_POW10) else int(10**n)


def decimal_places(text: str) -> int:
    """Return how many digits follow the decimal point in a plain decimal literal."""
    dot = text.find(".")
    if dot < 0:
        if "e" in text or "E" in text:
            return max(0, -_checked_decimal(text).as_tuple().exponent)  # type: ignore[operator]
        return 0
    if "e" in text or "E" in text:
        return max(0, -_checked_decimal(text).normalize().as_tuple().exponent)  # type: ignore[operator]
    return len(text) - dot - 1


def parse_raw(text: str, precision: int) -> int:
    """Parse decimal text into an int scaled by ``10 ** precision``, refusing any lost digit."""
    value = _checked_decimal(text)
    scaled = value.scaleb(precision)
    raw = int(scaled)
    if raw != scaled:
        raise InvalidValue(f"{text!r} has more than {precision} decimal places")
    return raw


def to_raw(value: Decimal, precision: int) -> int:
    """Convert an exact decimal to a raw int at ``precision``, refusing any lost digit."""
    scaled = value.scaleb(precision)
    raw = int(scaled)
    if raw != scaled:
        raise InvalidValue(f"{value} has more than {precision} decimal places")
    return raw


def from_raw(raw: int, precision: int) -> Decimal:
    """Return the exact decimal a raw int at ``precision`` stands for."""
    return Decimal(raw).scaleb(-precision)


def _checked_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidValue(f"{text!r} is not a decimal number") from exc
    if not value.is_finite():
        raise InvalidValue(f"{text!r} is not a finite number")
    return value
