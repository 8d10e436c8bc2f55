"""Fixed-point helpers: the kernel's exact representation of market prices and sizes.

A price or size travels through the hot path as a Python ``int`` ("raw") scaled by
``10 ** precision``; ``Decimal`` is used where exact division is needed (orders, fills, cash).
See ARCHITECTURE.md, "Number representation".
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation

from domain.errors import InvalidValue

_POW10: list[int] = [10**i for i in range(40)]
# Scaling must never round: a context wide enough for any price or size we accept.
_EXACT = Context(prec=120)
MAX_DIGITS = 60


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
        value = _checked_decimal(text).normalize(context=_EXACT)
        return max(0, -value.as_tuple().exponent)  # type: ignore[operator]
    return len(text) - dot - 1


def parse_raw(text: str, precision: int) -> int:
    """Parse decimal text into an int scaled by ``10 ** precision``, refusing any lost digit."""
    return to_raw(_checked_decimal(text), precision)


def to_raw(value: Decimal, precision: int) -> int:
    """Convert an exact decimal to a raw int at ``precision``, refusing any lost digit."""
    _check_size(value)
    scaled = value.scaleb(precision, context=_EXACT)
    raw = int(scaled)
    if raw != scaled:
        raise InvalidValue(f"{value} has more than {precision} decimal places")
    return raw


def raw_to_text(raw: int, precision: int) -> str:
    """Format a raw int at ``precision`` as plain decimal text (``6100012, 2 -> "61000.12"``).

    Integer arithmetic only: several times faster than going through ``Decimal`` on hot paths.
    """
    if precision == 0:
        return str(raw)
    sign = "-" if raw < 0 else ""
    whole, frac = divmod(abs(raw), pow10(precision))
    return f"{sign}{whole}.{frac:0{precision}d}"


def from_raw(raw: int, precision: int) -> Decimal:
    """Return the exact decimal a raw int at ``precision`` stands for."""
    return Decimal(raw).scaleb(-precision, context=_EXACT)


def _check_size(value: Decimal) -> None:
    if not value.is_finite():
        raise InvalidValue(f"{value} is not a finite number")
    if value and (value.adjusted() > MAX_DIGITS or value.adjusted() < -MAX_DIGITS):
        raise InvalidValue(f"{value} is out of range (more than {MAX_DIGITS} digits)")


def _checked_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidValue(f"{text!r} is not a decimal number") from exc
    if not value.is_finite():
        raise InvalidValue(f"{text!r} is not a finite number")
    _check_size(value)
    return value
