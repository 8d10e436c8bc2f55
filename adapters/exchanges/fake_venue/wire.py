"""Binance's wire conventions: error bodies, decimal text and JSON encoding.

Errors are ``{"code": -1121, "msg": "Invalid symbol."}`` with the HTTP status Binance uses for them;
decimals travel as text with eight places (``"61837.63000000"``), as in the recorded payloads.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Final

import msgspec

EIGHT: Final = Decimal("0.00000001")
ZERO: Final = Decimal(0)
_DECIMAL_PARAM = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INT_PARAM = re.compile(r"^-?[0-9]{1,20}$")
_ENCODER = msgspec.json.Encoder(decimal_format="string")


class VenueError(Exception):
    """A request the venue refuses, rendered as Binance's ``{"code", "msg"}`` body."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, Any]:
        """Return the JSON body Binance sends for this error."""
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> VenueError:
    """Return the -1102 error for a missing or empty mandatory parameter."""
    return VenueError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, "
                             f"or malformed.")


def fmt(value: Decimal) -> str:
    """Render a decimal with Binance's eight places (exact values keep every digit)."""
    return f"{value.quantize(EIGHT, rounding=ROUND_DOWN):f}"


def pad8(text: str) -> str:
    """Render recorded decimal text (``"61837.63"``) as Binance does (``"61837.63000000"``)."""
    whole, _, frac = text.partition(".")
    return f"{whole}.{(frac + '00000000')[:8]}"


def parse_decimal(name: str, text: str) -> Decimal:
    """Parse a DECIMAL parameter as Binance does: plain digits, at most eight places."""
    if not _DECIMAL_PARAM.match(text):
        raise VenueError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                                f"is '{_DECIMAL_PARAM.pattern}'.")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # unreachable after the pattern; kept for safety
        raise VenueError(-1100, f"Illegal characters found in parameter '{name}'.") from exc
    if value != value.quantize(EIGHT, rounding=ROUND_DOWN):
        raise VenueError(-1111, f"Parameter '{name}' has too much precision.")
    return value


def parse_int(name: str, text: str) -> int:
    """Parse an INT/LONG parameter as Binance does."""
    if not _INT_PARAM.match(text):
        raise VenueError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                                f"is '{_INT_PARAM.pattern}'.")
    return int(text)


def dumps(payload: Any) -> str:
    """Encode a payload as compact JSON text (key order kept, as the fixtures show it)."""
    return _ENCODER.encode(payload).decode()
