"""The built-in strategies by name (third-party ones arrive through entry points, see cli)."""

from __future__ import annotations

from typing import Any

from strategies.base import Strategy
from strategies.ma_crossover import MACrossover

BUILTIN: dict[str, type[Strategy[Any]]] = {
    MACrossover.name: MACrossover,
}
