"""Slow features, read point-in-time: what a strategy may know of dbt's feature models.

Per-bar indicators are the strategy's own incremental objects (``strategies.indicators``),
updated in ``on_bar``. Slow or external features (news sentiment, market-cap rank, on-chain
metrics) are dbt models whose rows carry the time each value became available
(``available_at``); the caller fills a ``FeatureSource`` with them (a backtest from dbt's tables,
the live runner from values a schedule keeps fresh) and the strategy reads them through its
read-only ``FeatureView``, which always asks "as of the kernel's current time". A strategy
therefore cannot see a value before it was available, and does no I/O.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Protocol

from domain.errors import InvalidValue
from domain.instruments import InstrumentId


class UnknownFeature(KeyError):
    """A strategy asked for a feature it did not declare, or the source does not hold."""


class FeatureSource(Protocol):
    """Slow features by name and instrument, answered as of a time (filled by the caller)."""

    def value_at(self, name: str, instrument_id: InstrumentId, ts_ns: int) -> float | None:
        """Return the latest value available at or before ``ts_ns`` (None if none yet)."""
        ...

    def names(self) -> frozenset[str]:
        """Return the feature names this source holds."""
        ...


class AsOfFeatures:
    """An in-memory ``FeatureSource``: per (feature, instrument), values sorted by availability.

    ``value_at`` is an as-of lookup (binary search), never a timestamp-equality join: at time t
    it returns the last value whose ``available_at <= t``. A null value (the vendor had none)
    stays null; it does not fall back to an older value.
    """

    __slots__ = ("_series",)

    def __init__(self) -> None:
        self._series: dict[tuple[str, InstrumentId], tuple[list[int], list[float | None]]] = {}

    def add(self, name: str, instrument_id: InstrumentId, available_at: Sequence[int],
            values: Sequence[float | None]) -> None:
        """Add one feature's history for one instrument; times must be strictly increasing."""
        if len(available_at) != len(values):
            raise InvalidValue(f"{name}: {len(available_at)} times but {len(values)} values")
        times = list(available_at)
        if any(b <= a for a, b in pairwise(times)):
            raise InvalidValue(f"{name}: available_at must be strictly increasing")
        checked: list[float | None] = []
        for value in values:
            if value is not None and not math.isfinite(value):
                raise InvalidValue(f"{name}: feature values must be finite, got {value!r}")
            checked.append(None if value is None else float(value))
        if (name, instrument_id) in self._series:
            raise InvalidValue(f"{name} for {instrument_id} was already added")
        self._series[name, instrument_id] = (times, checked)

    def value_at(self, name: str, instrument_id: InstrumentId, ts_ns: int) -> float | None:
        """Return the latest value available at or before ``ts_ns``."""
        series = self._series.get((name, instrument_id))
        if series is None:
            if name not in self.names():
                raise UnknownFeature(name)
            return None  # the feature exists, but not for this instrument
        times, values = series
        i = bisect_right(times, ts_ns)
        return values[i - 1] if i else None

    def names(self) -> frozenset[str]:
        """Return the feature names held."""
        return frozenset(name for name, _ in self._series)


class NoFeatures:
    """The source of a strategy that reads no slow features: every read is refused."""

    __slots__ = ()

    def value_at(self, name: str, instrument_id: InstrumentId, ts_ns: int) -> float | None:
        """Refuse: nothing was provided."""
        raise UnknownFeature(name)

    def names(self) -> frozenset[str]:
        """Return no names."""
        return frozenset()


class FeatureView:
    """What a strategy sees of slow features: read-only, as of the kernel's current time.

    Only declared features may be read, so the declaration (``Strategy.required_features``) is a
    complete list the platform can check for a live path (ARCHITECTURE.md decision 2).
    """

    __slots__ = ("_declared", "_now", "_source")

    def __init__(self, source: FeatureSource, now: Callable[[], int],
                 declared: Iterable[str]) -> None:
        """Bind ``source`` to the clock ``now`` (the kernel's) and the declared names."""
        self._source = source
        self._now = now
        self._declared = frozenset(declared)
        # Fail at start, not at the first read: a backtest without its inputs would be wrong.
        missing = self._declared - source.names()
        if missing:
            raise UnknownFeature(f"the feature source lacks {sorted(missing)}")

    @property
    def declared(self) -> frozenset[str]:
        """Return the names the strategy may read."""
        return self._declared

    def get(self, name: str, instrument_id: InstrumentId) -> float | None:
        """Return the latest value of ``name`` available now (None before the first one)."""
        if name not in self._declared:
            raise UnknownFeature(f"{name} is not among the strategy's declared slow features")
        return self._source.value_at(name, instrument_id, self._now())
