"""Continuity of one stream's keys: trade ids (step 1) or kline open times (step = interval).

Binance trade ids and aggregate-trade ids are contiguous per symbol, and closed klines follow
each other one interval apart, so any jump is data we did not receive. The tracker classifies
each live key:

* the next key, or a later one (a jump opens a ``Gap`` of the keys skipped): accepted;
* a key at or below the last one that the live stream already delivered: ``DUPLICATE``;
* a key inside a range the live stream skipped (it arrives late): ``OUT_OF_ORDER``;
* a key off the step grid (klines only): ``MISALIGNED``.

Keys a backfill recovers are handed to ``fill``; what stays missing is listed by ``missing``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """What to do with one live key."""

    ACCEPT = "accept"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"
    MISALIGNED = "misaligned"


@dataclass(frozen=True, slots=True)
class Gap:
    """The keys ``first..last`` (inclusive, ``step`` apart) that a stream skipped."""

    first: int
    last: int
    step: int = 1

    def __post_init__(self) -> None:
        if self.step <= 0 or self.last < self.first or (self.last - self.first) % self.step:
            raise ValueError(f"not a gap: {self.first}..{self.last} step {self.step}")

    @property
    def count(self) -> int:
        """Return how many keys the gap holds."""
        return (self.last - self.first) // self.step + 1

    def __contains__(self, key: object) -> bool:
        return (isinstance(key, int) and self.first <= key <= self.last
                and (key - self.first) % self.step == 0)


@dataclass(frozen=True, slots=True)
class Observation:
    """The verdict on one key, and the gap it revealed (only with ``ACCEPT``)."""

    verdict: Verdict
    gap: Gap | None = None


_ACCEPTED = Observation(Verdict.ACCEPT)
_DUPLICATE = Observation(Verdict.DUPLICATE)
_OUT_OF_ORDER = Observation(Verdict.OUT_OF_ORDER)
_MISALIGNED = Observation(Verdict.MISALIGNED)


class SequenceTracker:
    """Track one stream's keys; remember the most recent ``max_gaps`` gaps (bounded memory)."""

    def __init__(self, step: int = 1, max_gaps: int = 256) -> None:
        if step <= 0:
            raise ValueError("step must be positive")
        self.step = step
        self.last: int | None = None
        # Ranges the live stream skipped (for OUT_OF_ORDER) and the keys of them still missing.
        self._skipped: deque[Gap] = deque(maxlen=max_gaps)
        self._missing: deque[list[int]] = deque(maxlen=max_gaps)

    def resume_after(self, key: int) -> None:
        """Start from a key already held (e.g. the last stored trade id) so a restart sees gaps."""
        if self.last is not None:
            raise ValueError("the tracker has already seen keys")
        self.last = key

    def observe(self, key: int) -> Observation:
        """Classify one live key and advance past it when accepted."""
        last = self.last
        if last is None:
            self.last = key
            return _ACCEPTED
        ahead = key - last
        if ahead == self.step:  # the hot path: the next key
            self.last = key
            return _ACCEPTED
        if ahead % self.step:
            return _MISALIGNED
        if ahead > 0:
            gap = Gap(last + self.step, key - self.step, self.step)
            self._skipped.append(gap)
            self._missing.append([gap.first, gap.last])
            self.last = key
            return Observation(Verdict.ACCEPT, gap)
        if any(key in gap for gap in self._skipped):
            return _OUT_OF_ORDER
        return _DUPLICATE

    def fill(self, key: int) -> bool:
        """Mark a backfilled key as recovered; return ``False`` if it was not missing."""
        step = self.step
        for index, span in enumerate(self._missing):
            first, last = span
            if not (first <= key <= last) or (key - first) % step:
                continue
            if first == last:
                del self._missing[index]
            elif key == first:  # backfills arrive in order, so this is the common case
                span[0] = first + step
            elif key == last:
                span[1] = last - step
            else:
                span[1] = key - step
                self._missing.insert(index + 1, [key + step, last])
            return True
        return False

    def missing(self, within: Gap | None = None) -> list[Gap]:
        """Return the ranges still missing, optionally only those inside ``within``."""
        gaps = [Gap(first, last, self.step) for first, last in self._missing]
        if within is None:
            return gaps
        return [g for g in gaps if within.first <= g.first and g.last <= within.last]
