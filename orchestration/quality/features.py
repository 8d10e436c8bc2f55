"""The feature suite, built from each feature model's ``meta.lockgate`` (ARCHITECTURE.md decision
2): keys present and unique, values available strictly after their bar opened, no gaps in a
series' values once its warm-up is over, finite values within each indicator's range.
"""

from __future__ import annotations

import itertools

import pandas as pd  # type: ignore[import-untyped]

from orchestration.defs.features.layout import FeatureModel
from orchestration.quality import gx as gxe
from orchestration.quality.expectations import Outcome, validate

# Finite: a stored infinity fails; NaN arrives as a null and fails the null rules.
_FINITE = 1e300
# Value ranges by column-name prefix (the feature library's naming, e.g. rsi_14).
_RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    # prefix: (min, max, strict_min)
    "rsi_": (0.0, 100.0, False),
    "atr_": (0.0, None, False),
    "volatility_": (0.0, None, False),
    "sma_": (0.0, None, True),
    "ema_": (0.0, None, True),
    "bb_upper_": (0.0, None, True),
    "bb_middle_": (0.0, None, True),  # the lower band may go below zero: mean - 2 sd
    "return_": (-1.0, None, True),  # a price cannot fall by 100 % or more
}


def check_feature(frame: pd.DataFrame, model: FeatureModel) -> Outcome:
    """Validate one feature table's frame (see `orchestration.quality.frames.read_feature`)."""
    settled = (frame[frame["bar_index"] >= model.warmup] if "bar_index" in frame.columns
               else frame)
    frames = {f"{model.name}_rows": (frame, row_expectations(frame, model))}
    if "bar_index" in frame.columns:
        frames[f"{model.name}_settled"] = (settled, settled_expectations(model))
    return validate(frames)


def row_expectations(frame: pd.DataFrame, model: FeatureModel) -> list[gxe.Expectation]:
    """Return the expectations every row must meet."""
    out: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column=key, meta={"rule": "nulls"})
        for key in (*model.keys, model.available_at_column)]
    out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(model.keys),
                                                   meta={"rule": "duplicates"}))
    if "open_at" in model.keys:
        # No look-ahead: a value is known only after its bar opened (at its close).
        out.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=model.available_at_column, column_B="open_at", or_equal=False,
            ignore_row_if="either_value_is_missing", meta={"rule": "availability"}))
    for column in model.columns:
        if column not in frame.columns:
            continue
        low, high, strict = next((bounds for prefix, bounds in _RANGES.items()
                                  if column.startswith(prefix)), (None, None, False))
        out.append(gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=-_FINITE if low is None else low,
            max_value=_FINITE if high is None else high, strict_min=strict,
            meta={"rule": "ranges"}))
    bands = [f"bb_{part}" for part in ("upper", "middle", "lower")]
    for upper, lower in itertools.pairwise(bands):
        highs = [c for c in model.columns if c.startswith(upper)]
        lows = [c for c in model.columns if c.startswith(lower)]
        for a, b in zip(highs, lows, strict=False):
            out.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing",
                meta={"rule": "ranges"}))
    return out


def settled_expectations(model: FeatureModel) -> list[gxe.Expectation]:
    """Return the expectations of bars past their series' warm-up: every value present."""
    if model.kind != "bar":
        return []  # slow features are null where the vendor had nothing yet: that is data
    return [gxe.ExpectColumnValuesToNotBeNull(column=column, meta={"rule": "nulls"})
            for column in model.columns]
