"""Thresholds of the candle suite (kept apart from the suite so configuration loads fast)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CandleLimits:
    """How much a table of bars may deviate before the check fails.

    ``max_gap_ratio``: missing bars over the bars a series' span should hold (real venues skip
    a few: the bundled ETH/USDT 1h file has 3 gaps in 499 bars). A close-to-close log return is
    a jump when it exceeds ``jump_sigmas`` robust standard deviations of its series, and at
    least ``jump_floor`` (so a quiet series does not flag ordinary moves).
    """

    max_gap_ratio: float = 0.05
    jump_sigmas: float = 25.0
    jump_floor: float = 0.10
