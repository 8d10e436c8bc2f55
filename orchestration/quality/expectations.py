"""Validate pandas frames with great_expectations in an ephemeral context; summarise the result.

Nothing is written to disk (``mode="ephemeral"``) and progress bars are off, so a validation
inside a Dagster step leaves only the step's own logs. Each expectation carries
``meta={"rule": ...}`` naming the data-quality rule it enforces (``nulls``, ``ohlc``...), which
is what the asset check reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
import pandas as pd  # type: ignore[import-untyped]
from great_expectations.data_context.types.base import ProgressBarsConfig

from orchestration.quality.gx import Expectation

SAMPLE_SIZE = 5


@dataclass(frozen=True, slots=True)
class Finding:
    """One failed expectation: its rule, what it checked, how many rows broke it, a sample."""

    rule: str
    expectation: str
    column: str
    unexpected: int
    sample: tuple[str, ...]
    observed: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a validation found: how many expectations ran, over how many rows, which failed."""

    evaluated: int
    rows: int
    findings: tuple[Finding, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """Return True when every expectation held."""
        return not self.findings

    @property
    def failed_rules(self) -> list[str]:
        """Return the rules with at least one failed expectation, in order, once each."""
        return list(dict.fromkeys(finding.rule for finding in self.findings))

    def metadata(self) -> dict[str, Any]:
        """Return the outcome as flat Dagster-friendly metadata (text and numbers only)."""
        out: dict[str, Any] = {"rows_checked": self.rows, "expectations": self.evaluated,
                               "failed_expectations": len(self.findings),
                               "failed_rules": ", ".join(self.failed_rules) or "none"}
        for n, finding in enumerate(self.findings[:20], start=1):
            detail = f"{finding.expectation}({finding.column}): {finding.unexpected} row(s)"
            if finding.observed is not None:
                detail += f", observed {finding.observed}"
            if finding.sample:
                detail += f", e.g. {', '.join(finding.sample)}"
            out[f"failure_{n}_{finding.rule}"] = detail
        return out

    def merged(self, other: Outcome) -> Outcome:
        """Return both outcomes as one."""
        return Outcome(self.evaluated + other.evaluated, max(self.rows, other.rows),
                       self.findings + other.findings)


def validate(frames: Mapping[str, tuple[pd.DataFrame, Sequence[Expectation]]]) -> Outcome:
    """Validate each named frame against its expectations; return what failed."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("lockgate")
    outcome = Outcome(0, 0)
    for name, (frame, expectations) in frames.items():
        if frame.empty or not expectations:
            outcome = outcome.merged(Outcome(0, 0))
            continue
        suite = context.suites.add(gx.ExpectationSuite(name=name))
        for expectation in expectations:
            suite.add_expectation(expectation)
        batch = (source.add_dataframe_asset(name)
                 .add_batch_definition_whole_dataframe(name)
                 .get_batch(batch_parameters={"dataframe": frame}))
        result = batch.validate(suite, result_format="SUMMARY")
        findings = tuple(_finding(item) for item in result.results if not item.success)
        outcome = outcome.merged(Outcome(len(result.results), len(frame), findings))
    return outcome


def _finding(item: Any) -> Finding:
    config = item.expectation_config
    kwargs = config.kwargs
    column = (kwargs.get("column") or ",".join(kwargs.get("column_list") or ())
              or f"{kwargs.get('column_A')} vs {kwargs.get('column_B')}")
    details = item.result or {}
    unexpected = int(details.get("unexpected_count") or 0)
    sample = tuple(str(value) for value in (details.get("partial_unexpected_list") or ())
                   [:SAMPLE_SIZE])
    observed = details.get("observed_value")
    if item.exception_info and item.exception_info.get("raised_exception"):
        # A broken expectation must fail loudly, not pass silently.
        observed = str(item.exception_info.get("exception_message"))[:200]
    return Finding(rule=str((config.meta or {}).get("rule", config.type)),
                   expectation=config.type, column=str(column), unexpected=unexpected,
                   sample=sample, observed=None if observed is None else str(observed))
