"""Twin parity: a feature computed in SQL equals its incremental twin in ``strategies.indicators``.

ARCHITECTURE.md decision 2: per-bar indicators live in ``strategies/`` as O(1)-per-update objects
and have dbt twins; this compares both on the stored history, bar by bar, to ``RELATIVE``
(1e-9, relative to the value, absolute near zero). A feature model names its twin and the twin's
parameters in ``meta.lockgate`` (``twin: strategies.indicators.RSI``, ``params: {period: 14}``);
a list-valued parameter (``period: [20, 50]``) means one twin per value, and the twins' outputs,
in order, are the model's ``columns``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestration.defs.features.layout import FeatureModel
from strategies import indicators

RELATIVE = 1e-9
Bar = tuple[float, float, float]  # high, low, close
Key = tuple[str, str, Any]  # instrument, timeframe, open time


@dataclass(frozen=True, slots=True)
class _Twin:
    feed: Callable[[Any, Bar], None]
    outputs: Callable[[Any], Sequence[float | None]]


# How each twin is fed and read: ATR takes the whole bar, the others the close.
_TWINS: Mapping[str, _Twin] = {
    "SMA": _Twin(lambda ind, bar: ind.update(bar[2]), lambda ind: [ind.value]),
    "EMA": _Twin(lambda ind, bar: ind.update(bar[2]), lambda ind: [ind.value]),
    "RSI": _Twin(lambda ind, bar: ind.update(bar[2]), lambda ind: [ind.value]),
    "ATR": _Twin(lambda ind, bar: ind.update(*bar), lambda ind: [ind.value]),
    "BollingerBands": _Twin(lambda ind, bar: ind.update(bar[2]),
                            lambda ind: [ind.upper, ind.middle, ind.lower]),
}


@dataclass(frozen=True, slots=True)
class Parity:
    """How many values were compared, and the first few that differ."""

    compared: int
    mismatches: int
    examples: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Return True when every value matched (and there was something to compare)."""
        return self.mismatches == 0


def has_twin(model: FeatureModel) -> bool:
    """Return True when the model names a twin this check knows how to feed."""
    return model.twin is not None and model.twin.rpartition(".")[2] in _TWINS


def compare(model: FeatureModel, bars: Mapping[tuple[str, str], Sequence[tuple[Any, Bar]]],
            values: Mapping[Key, Sequence[float | None]]) -> Parity:
    """Replay each series' bars through fresh twins; compare their outputs with ``values``.

    ``bars`` holds each series' bars in time order; ``values`` the model's columns per bar.
    """
    name = (model.twin or "").rpartition(".")[2]
    spec = _TWINS[name]
    compared, mismatches = 0, 0
    examples: list[str] = []
    for (instrument, timeframe), series in bars.items():
        twins = _instances(name, model.params)
        for opened, bar in series:
            for twin in twins:
                spec.feed(twin, bar)
            stored = values.get((instrument, timeframe, opened))
            if stored is None:
                continue
            expected = [output for twin in twins for output in spec.outputs(twin)]
            for column, want, got in zip(model.columns, expected, stored, strict=False):
                compared += 1
                if not _same(want, got):
                    mismatches += 1
                    if len(examples) < 5:
                        examples.append(f"{instrument} {timeframe} {opened} {column}: "
                                        f"sql={got} twin={want}")
    return Parity(compared, mismatches, tuple(examples))


def _instances(name: str, params: Mapping[str, Any]) -> list[Any]:
    factory = getattr(indicators, name)
    lists = {key: value for key, value in params.items() if isinstance(value, list)}
    if not lists:
        return [factory(**params)]
    ((key, options),) = lists.items()  # one list-valued parameter: one twin per value
    return [factory(**{**params, key: option}) for option in options]


def _same(want: float | None, got: float | None) -> bool:
    if want is None or got is None or (isinstance(got, float) and math.isnan(got)):
        return want is None and (got is None or math.isnan(got))
    return abs(want - got) <= RELATIVE * max(abs(want), 1.0)
