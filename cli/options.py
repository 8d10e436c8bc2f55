"""Shared click parameter types."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import click


class DecimalType(click.ParamType):  # type: ignore[type-arg]
    """A finite decimal number, optionally bounded below."""

    name = "decimal"

    def __init__(self, minimum: Decimal | None = None, positive: bool = False) -> None:
        self.minimum = minimum
        self.positive = positive

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse the text exactly; refuse NaN, infinity and out-of-range values."""
        if isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not number.is_finite():
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.positive and number <= 0:
            self.fail(f"{value!r} must be positive", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{value!r} must be at least {self.minimum}", param, ctx)
        return number


NON_NEGATIVE = DecimalType(minimum=Decimal(0))
POSITIVE = DecimalType(positive=True)


class InputError(click.ClickException):
    """Bad input (a malformed file, invalid parameters): exit status 2."""

    exit_code = 2
