"""Find strategies by name: the built-in registry, then the ``lockgate.strategies`` entry points.

A third-party package makes its strategy available by declaring, in its own pyproject::

    [project.entry-points."lockgate.strategies"]
    my_breakout = "acme_strategies.breakout:MyBreakout"

The entry-point name must equal the class's ``name``; built-in names cannot be taken over.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from domain.errors import InvalidValue
from strategies.base import Strategy
from strategies.registry import BUILTIN

GROUP = "lockgate.strategies"


class UnknownStrategy(InvalidValue):
    """No built-in strategy and no entry point has this name."""


def strategy_names() -> list[str]:
    """Return every available strategy name, sorted."""
    return sorted({*BUILTIN, *(point.name for point in entry_points(group=GROUP))})


def find_strategy(name: str) -> type[Strategy[Any]]:
    """Return the strategy class registered under ``name``."""
    if name in BUILTIN:
        return BUILTIN[name]
    for point in entry_points(group=GROUP):
        if point.name == name:
            return _checked(name, point.load())
    raise UnknownStrategy(f"unknown strategy {name!r}; known: {', '.join(strategy_names())}")


def available_strategies() -> dict[str, type[Strategy[Any]]]:
    """Return every strategy class by name (loads every entry point)."""
    return {name: find_strategy(name) for name in strategy_names()}


def _checked(name: str, loaded: object) -> type[Strategy[Any]]:
    if not (isinstance(loaded, type) and issubclass(loaded, Strategy)):
        raise InvalidValue(f"entry point {name!r} of {GROUP} is not a Strategy subclass")
    if loaded.name != name:
        raise InvalidValue(f"entry point {name!r} loads a strategy named {loaded.name!r}")
    return loaded
