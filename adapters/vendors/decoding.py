"""Decode vendor JSON with msgspec into typed shapes; refuse or drop, and count either way.

Numbers decode straight into `Decimal` from the JSON text, so no price or market cap passes
through a float. A msgspec error names the JSON path of the offending field; it becomes the
``field`` of `VendorPayloadError` (whole payload refused) or the ``where`` of a `Dropped`
item (one item left out of an otherwise good payload).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import msgspec

from adapters.vendors.http import VendorHttp
from adapters.vendors.metrics import Rejection
from adapters.vendors.ports import Dropped
from domain.errors import InvalidValue

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")
_AT = re.compile(r"^(?P<detail>.*) - at `(?P<path>\$[^`]*)`$", re.DOTALL)


def _split(message: str) -> tuple[str, str]:
    """Split a msgspec message into (JSON path, detail)."""
    match = _AT.match(message)
    if match is None:
        return "$", message
    return match["path"], match["detail"]


def _well_formed(body: bytes) -> bool:
    try:
        msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False
    return True


def decode(http: VendorHttp, body: bytes, shape: type[T]) -> T:
    """Decode a whole answer into ``shape`` or raise (and count) `VendorPayloadError`."""
    try:
        return msgspec.json.decode(body, type=shape)
    except msgspec.ValidationError as exc:
        # msgspec checks types while it parses, so a broken body can surface as a type error
        # first; only a body that parses is a wrong payload rather than malformed JSON.
        if not _well_formed(body):
            raise http.reject(Rejection.MALFORMED_JSON, "$", "the body is not JSON") from None
        where, detail = _split(str(exc))
        raise http.reject(Rejection.INVALID_PAYLOAD, where, detail) from None
    except msgspec.DecodeError as exc:
        raise http.reject(Rejection.MALFORMED_JSON, "$", str(exc)) from None


def decode_item(http: VendorHttp, raw: msgspec.Raw, shape: type[T], where: str,
                dropped: list[Dropped]) -> T | None:
    """Decode one item of a payload; on failure count it, note it in ``dropped``, return None."""
    try:
        return msgspec.json.decode(raw, type=shape)
    except msgspec.ValidationError as exc:
        path, detail = _split(str(exc))
        _drop(http, "invalid_item", where + path[1:], detail, dropped)
        return None


class MissingValue(InvalidValue):
    """A field the item needs is absent or null."""


def build(http: VendorHttp, where: str, dropped: list[Dropped], make: Callable[P, R],
          *args: P.args, **kwargs: P.kwargs) -> R | None:
    """Return ``make(*args, **kwargs)``; if it refuses the item, count and note it, return None.

    Refusals are `MissingValue` (reason ``missing_value``) and the value objects' own checks
    or conversion errors (NaN, negative, a timestamp out of range: ``invalid_value``).
    """
    try:
        return make(*args, **kwargs)
    except MissingValue as exc:
        _drop(http, "missing_value", where, str(exc), dropped)
    except (ValueError, ArithmeticError, OSError) as exc:
        _drop(http, "invalid_value", where, str(exc), dropped)
    return None


def present(value: T | None, name: str) -> T:
    """Return ``value``, or raise `MissingValue` naming the field when it is None."""
    if value is None:
        raise MissingValue(f"{name} is missing or null")
    return value


def from_unix(seconds: Decimal | int) -> datetime:
    """Return the UTC time of a unix timestamp in whole seconds; refuse fractions and NaN."""
    if isinstance(seconds, Decimal) and (not seconds.is_finite() or seconds != int(seconds)):
        raise InvalidValue(f"not a whole unix timestamp: {seconds}")
    return datetime.fromtimestamp(int(seconds), UTC)


def _drop(http: VendorHttp, reason: str, where: str, detail: str, dropped: list[Dropped]) -> None:
    http.drop(reason, where, detail)
    dropped.append(Dropped(where, reason))


def upper_code(value: Any) -> str:
    """Return a vendor's asset or currency spelling as Lockgate's upper-case code."""
    return str(value).strip().upper()
