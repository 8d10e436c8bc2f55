"""The built-in strategies by name.

Third-party strategies are discovered through the ``lockgate.strategies`` entry-point group
(``research.discovery`` merges both; the names of built-ins win). No file-path magic: a
strategy is an importable class.
"""

from __future__ import annotations

from typing import Any

from strategies.base import Strategy
from strategies.bollinger_rsi import BollingerRSI
from strategies.donchian_breakout import DonchianBreakout
from strategies.ma_crossover import MACrossover
from strategies.ml.strategy import LogisticSignal

BUILTIN: dict[str, type[Strategy[Any]]] = {
    cls.name: cls for cls in (MACrossover, DonchianBreakout, BollingerRSI, LogisticSignal)
}
