"""``lockgate build``: materialise every asset once, in process, in as few runs as the data needs.

Partitioned assets (raw market data, candles, features) run once per stretch of consecutive UTC
days that hold data (a single-run backfill of the stretch: one dbt run for all its days), so
years without data between two files cost nothing. Unpartitioned assets that partitioned ones
read (vendor data and vendor features) run first; the rest (P&L) runs last. Every run goes to
the given instance, so the UI shows them like any other run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import asyncpg
import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._core.utils import make_new_run_id

POLL_S = 0.5
Progress = Callable[[str, int, int, str], None]  # (run label, steps done, steps, current step)
_STEP_END = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"}


@dataclass(frozen=True, slots=True)
class RunPlan:
    """One run of the build: a label, what it materialises, and its days (if partitioned)."""

    label: str
    selection: dg.AssetSelection
    days: tuple[date, date] | None = None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one run did."""

    label: str
    run_id: str
    success: bool
    materialized: int
    failed_steps: tuple[str, ...] = ()
    failed_checks: tuple[str, ...] = field(default=())


def day_spans(days: Iterable[date]) -> list[tuple[date, date]]:
    """Group days into stretches of consecutive days, ``(first, last)`` each, in order."""
    spans: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if spans and day == spans[-1][1] + timedelta(days=1):
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


async def stored_days(conn: asyncpg.Connection) -> set[date]:
    """Return the UTC days the trades or exchange candles already stored fall on."""
    rows = await conn.fetch(
        "select (traded_at at time zone 'UTC')::date as day from trades group by 1"
        " union select (open_at at time zone 'UTC')::date from exchange_candles group by 1")
    return {row["day"] for row in rows}


def plan_build(defs: dg.Definitions, days: Iterable[date]) -> list[RunPlan]:
    """Return the runs that materialise every asset once, for the days that hold data.

    Unpartitioned steps go whole into the first run, or into the last when one of their
    assets reads a partitioned asset, so no step (no dbt invocation) runs twice.
    """
    graph = defs.resolve_asset_graph()
    partitioned_keys = [key for key in graph.materializable_asset_keys
                        if graph.get(key).partitions_def is not None]
    partitioned = dg.AssetSelection.assets(*partitioned_keys)
    downstream = (partitioned.downstream() - partitioned).resolve(graph)
    before: set[dg.AssetKey] = set()
    after: set[dg.AssetKey] = set()
    for step in defs.assets or ():
        if not isinstance(step, dg.AssetsDefinition) or isinstance(
                step, dg.AssetChecksDefinition) or not step.is_materializable:
            continue
        keys = set(step.keys) - set(partitioned_keys)
        if keys:
            (after if keys & downstream else before).update(keys)
    plans = []
    if before:
        plans.append(RunPlan("inputs", dg.AssetSelection.assets(*before)))
    plans += [RunPlan(f"days {first}..{last}", partitioned, (first, last))
              for first, last in day_spans(days)]
    if after:
        plans.append(RunPlan("the rest", dg.AssetSelection.assets(*after)))
    return plans


def execute(defs: dg.Definitions, instance: dg.DagsterInstance, plans: Iterable[RunPlan],
            progress: Progress | None = None, log_level: str = "INFO") -> list[RunOutcome]:
    """Run the plans one after another in this process; report progress while each runs.

    ``log_level`` is the level of the runs' console log (every event stays in the instance).
    """
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    outcomes = []
    for plan in plans:
        keys = plan.selection.resolve(graph)
        tags = {} if plan.days is None else {
            ASSET_PARTITION_RANGE_START_TAG: plan.days[0].isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: plan.days[1].isoformat()}
        run_id = make_new_run_id()
        steps = len(job.get_subset(asset_selection=set(keys)).graph.nodes)
        done = threading.Event()
        watcher = threading.Thread(
            target=_watch, args=(instance, run_id, plan.label, steps, progress, done),
            daemon=True)
        watcher.start()
        try:
            result = job.execute_in_process(run_config=run_config, instance=instance,
                                            asset_selection=list(keys), tags=tags,
                                            run_id=run_id, raise_on_error=False)
        finally:
            done.set()
            watcher.join()
        outcomes.append(_outcome(plan.label, result))
    return outcomes


def _watch(instance: dg.DagsterInstance, run_id: str, label: str, steps: int,
           progress: Progress | None, done: threading.Event) -> None:
    if progress is None:
        return
    while True:
        finished, current = 0, ""
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type_value == "STEP_START":
                current = event.step_key or ""
            elif event.event_type_value in _STEP_END:
                finished += 1
        progress(label, finished, steps, current)
        if done.wait(POLL_S):
            return


def _outcome(label: str, result: dg.ExecuteInProcessResult) -> RunOutcome:
    failed_steps, failed_checks, materialized = [], [], 0
    for event in result.all_events:
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            materialized += 1
        elif kind == "STEP_FAILURE" and event.step_key:
            failed_steps.append(event.step_key)
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.asset_check_evaluation_data
            if not evaluation.passed:
                failed_checks.append(evaluation.asset_check_key.to_user_string()
                                     + f" ({evaluation.severity.value})")
    return RunOutcome(label, result.run_id, result.success, materialized, tuple(failed_steps),
                      tuple(failed_checks))
