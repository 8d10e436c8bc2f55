"""The explicit gate: a step does not run while a blocking check upstream of it has failed.

Within one run Dagster already skips what is downstream of a failed blocking check. A later run
that selects only the downstream assets would not see that failure; the gate does: before the
step works, it reads from the instance the latest resolved evaluation of every blocking check on
the step's ancestors (assets outside the step) and fails the step if one of them failed with
severity ERROR. It opens again once the check passes (re-run the upstream asset with its
checks). The daemon's automation condition (``all_deps_blocking_checks_passed``) keeps the same
rule for the runs it starts; the gate covers runs started by hand, by schedules, sensors and
``lockgate build``.

A check that never ran does not close the gate: on the first build the checks run in the same
run, where Dagster's own blocking applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

_RESOLVED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


@dataclass(frozen=True, slots=True)
class ClosedBy:
    """A blocking check whose latest evaluation failed, and the run that evaluated it."""

    check: dg.AssetCheckKey
    run_id: str


class UpstreamGate:
    """The blocking checks on one step's inputs; filled once the step's definition exists."""

    def __init__(self) -> None:
        self._checks: tuple[dg.AssetCheckKey, ...] = ()

    @property
    def checks(self) -> tuple[dg.AssetCheckKey, ...]:
        """Return the blocking checks this gate reads."""
        return self._checks

    def watch(self, step: dg.AssetsDefinition,
              upstream: Iterable[dg.AssetsDefinition | dg.AssetChecksDefinition]) -> None:
        """Gate ``step`` on the blocking checks ``upstream`` defines on any of its ancestors.

        Ancestors, not only inputs: a failed test two steps up (a NaN in 1m candles) must
        stop the features as surely as one on their direct input.
        """
        definitions = [*upstream, step]
        parents: dict[dg.AssetKey, set[dg.AssetKey]] = {}
        for definition in definitions:
            if not isinstance(definition, dg.AssetChecksDefinition):
                for spec in definition.specs:
                    parents[spec.key] = {dep.asset_key for dep in spec.deps}
        own = set(step.keys)
        ancestors: set[dg.AssetKey] = set()
        frontier = {dep for key in own for dep in parents.get(key, ())} - own
        while frontier:
            key = frontier.pop()
            ancestors.add(key)
            frontier |= parents.get(key, set()) - ancestors - own
        found = {spec.key for definition in definitions for spec in definition.check_specs
                 if spec.blocking and spec.asset_key in ancestors}
        self._checks = tuple(sorted(found, key=lambda key: key.to_user_string()))

    def closed_by(self, instance: dg.DagsterInstance) -> list[ClosedBy]:
        """Return the watched checks whose latest resolved evaluation failed with ERROR."""
        closed = []
        for key in self._checks:
            history = instance.event_log_storage.get_asset_check_execution_history(
                key, limit=1, status=_RESOLVED)
            if not history or history[0].status is not AssetCheckExecutionRecordStatus.FAILED:
                continue
            event = history[0].event
            evaluation = (event.dagster_event.event_specific_data
                          if event is not None and event.dagster_event is not None else None)
            if getattr(evaluation, "severity", dg.AssetCheckSeverity.ERROR) is (
                    dg.AssetCheckSeverity.ERROR):
                closed.append(ClosedBy(key, history[0].run_id))
        return closed

    def enforce(self, context: dg.AssetExecutionContext) -> None:
        """Fail the step, naming the checks, when a watched check's last evaluation failed."""
        closed = self.closed_by(context.instance)
        if not closed:
            return
        names = ", ".join(item.check.to_user_string() for item in closed)
        raise dg.Failure(
            description=(f"blocked: blocking check(s) on this step's inputs failed: {names}. "
                         "Fix the data, re-run the upstream asset with its checks, then retry."),
            metadata={item.check.to_user_string(): f"failed in run {item.run_id}"
                      for item in closed},
            allow_retries=False)
