"""Find strategies by name: built-ins first, then the ``lockgate.strategies`` entry points."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import click


def strategy_class(name: str) -> Any:
    """Return the strategy class registered under ``name``."""
    from strategies.registry import BUILTIN

    if name in BUILTIN:
        return BUILTIN[name]
    for point in entry_points(group="lockgate.strategies"):
        if point.name == name:
            return point.load()
    known = sorted({*BUILTIN, *(p.name for p in entry_points(group="lockgate.strategies"))})
    raise click.BadParameter(f"unknown strategy {name!r}; known: {', '.join(known)}",
                             param_hint="--strategy")


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """Turn ``("fast=20", "slow=50")`` into a dict, refusing malformed or repeated names."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--param")
        if key in params:
            raise click.BadParameter(f"{key} given twice", param_hint="--param")
        params[key] = value.strip()
    return params
