"""Search ranges of strategy parameters, declared beside their types.

A config field says what it may be (its type and ``msgspec.Meta`` bounds: validity) and where a
sweep should look (a ``Param`` or ``Choice`` in the same ``Annotated``: the search range)::

    fast: Annotated[int, Meta(ge=1), Param(5, 50, step=5)] = 20

Validity and search range differ on purpose: ``fast=1`` is a valid config a user may run, but not
a value worth sweeping. ``StrategyConfig.search_space()`` collects the ranges; the generators in
``research.sweeps`` draw grids and seeded random samples from them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from domain.errors import InvalidValue

Scalar = bool | int | float | str


class Dimension(Protocol):
    """One parameter's search range: a finite grid and a way to sample it."""

    def grid(self) -> tuple[Scalar, ...]:
        """Return the values a grid search tries, in ascending (or declared) order."""
        ...

    def sample(self, uniform: float) -> Scalar:
        """Map a uniform draw in [0, 1) to a value of the range."""
        ...


@dataclass(frozen=True, slots=True)
class Param:
    """A numeric search range ``[low, high]`` (both included).

    ``step`` spaces the grid (default 1 for ints; floats without a step get ``points`` evenly
    spaced values). ``log`` samples and spaces floats geometrically (for rates, thresholds
    spanning decades). The field's annotated type (int or float) decides the value type.
    """

    low: float
    high: float
    step: float | None = None
    log: bool = False
    points: int = 5

    def __post_init__(self) -> None:
        for value in (self.low, self.high, self.step or 1.0):
            if isinstance(value, bool) or not math.isfinite(value):
                raise InvalidValue(f"a search range needs finite numbers, got {value!r}")
        if self.low > self.high:
            raise InvalidValue(f"search range low {self.low} is above high {self.high}")
        if self.step is not None and self.step <= 0:
            raise InvalidValue(f"search step must be positive, got {self.step}")
        if self.log and self.low <= 0:
            raise InvalidValue("a log-scaled search range needs low > 0")
        if self.points < 1:
            raise InvalidValue(f"a grid needs at least one point, got {self.points}")

    def bind(self, kind: type) -> Dimension:
        """Return the dimension for a field of type ``kind`` (int or float)."""
        if kind is int:
            if not (float(self.low).is_integer() and float(self.high).is_integer()):
                raise InvalidValue(f"an int range needs int bounds, got {self.low}..{self.high}")
            step = 1 if self.step is None else self.step
            if not float(step).is_integer():
                raise InvalidValue(f"an int range needs an int step, got {step}")
            return IntRange(int(self.low), int(self.high), int(step), self.log)
        if kind is float:
            return FloatRange(float(self.low), float(self.high), self.step, self.log, self.points)
        raise InvalidValue(f"Param ranges suit int or float fields, not {kind.__name__}")


@dataclass(frozen=True, slots=True)
class Choice:
    """A categorical search range: the listed values, in the listed order."""

    values: tuple[Scalar, ...]

    def __init__(self, *values: Scalar) -> None:
        if not values:
            raise InvalidValue("a choice needs at least one value")
        if len(set(values)) != len(values):
            raise InvalidValue(f"a choice repeats a value: {values}")
        object.__setattr__(self, "values", tuple(values))

    def grid(self) -> tuple[Scalar, ...]:
        """Return every value."""
        return self.values

    def sample(self, uniform: float) -> Scalar:
        """Pick one value, each equally likely."""
        return self.values[min(int(uniform * len(self.values)), len(self.values) - 1)]


@dataclass(frozen=True, slots=True)
class IntRange:
    """Integers ``low, low + step, ... <= high``; sampled uniformly among them."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def grid(self) -> tuple[Scalar, ...]:
        """Return the grid values."""
        return tuple(range(self.low, self.high + 1, self.step))

    def sample(self, uniform: float) -> Scalar:
        """Pick one grid value (log: geometrically spread, then snapped to the grid)."""
        values = self.grid()
        if not self.log:
            return values[min(int(uniform * len(values)), len(values) - 1)]
        target = math.exp(math.log(self.low) + uniform * (math.log(self.high) - math.log(self.low)))
        return min(values, key=lambda v: (abs(float(v) - target), v))


@dataclass(frozen=True, slots=True)
class FloatRange:
    """Floats in ``[low, high]``: a stepped or evenly spaced grid; continuous sampling."""

    low: float
    high: float
    step: float | None = None
    log: bool = False
    points: int = 5

    def grid(self) -> tuple[Scalar, ...]:
        """Return the grid values (rounded to 12 significant digits, so they print cleanly)."""
        if self.low == self.high:
            return (self.low,)
        if self.step is not None:
            count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
            raw = [self.low + i * self.step for i in range(count)]
        elif self.log:
            ratio = (self.high / self.low) ** (1 / max(self.points - 1, 1))
            raw = [self.low * ratio**i for i in range(self.points)]
        else:
            width = (self.high - self.low) / max(self.points - 1, 1)
            raw = [self.low + i * width for i in range(self.points)]
        return tuple(_clean(min(value, self.high)) for value in raw)

    def sample(self, uniform: float) -> Scalar:
        """Draw a value (log: uniform in log space), rounded to 12 significant digits."""
        if self.log:
            span = math.log(self.high) - math.log(self.low)
            return _clean(math.exp(math.log(self.low) + uniform * span))
        return _clean(self.low + uniform * (self.high - self.low))


def _clean(value: float) -> float:
    # 0.1 + 2 * 0.05 is 0.20000000000000001: rounding keeps grid values and params readable and
    # makes equal grid points equal (same canonical JSON, same strategy version).
    return float(f"{value:.12g}")


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """The search ranges of a config type, by field name (declaration order)."""

    config_type: type[Any]
    dimensions: tuple[tuple[str, Dimension], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Return the swept field names."""
        return tuple(name for name, _ in self.dimensions)

    def grid_size(self) -> int:
        """Return how many combinations a full grid holds (before invalid ones are dropped)."""
        return math.prod(len(dim.grid()) for _, dim in self.dimensions)

    def point(self, uniforms: Sequence[float]) -> dict[str, Scalar]:
        """Map one uniform draw per dimension to parameter values."""
        if len(uniforms) != len(self.dimensions):
            raise InvalidValue(f"need {len(self.dimensions)} draws, got {len(uniforms)}")
        return {name: dim.sample(u) for (name, dim), u in zip(self.dimensions, uniforms,
                                                               strict=True)}
