"""The dbt models as Dagster assets, one step (``@dbt_assets``) per group of
`orchestration.defs.features.layout`; dbt's tests arrive as blocking asset checks.

A partitioned step runs ``dbt build`` on its models whatever days it was asked for: the
incremental models rebuild exactly the buckets whose trades changed (watermarks, see
``dbt_project/macros/incremental.sql``), late trades included. The days are not passed to dbt as
``--vars``: changed vars make dbt re-parse the whole project on every run.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import dbt_assets

from orchestration.dbt_project import lockgate_dbt_project
from orchestration.defs.features.layout import (
    SOURCE_KEYS,
    load_manifest,
    model_groups,
    source_key,
)
from orchestration.defs.features.partitions import backfill_policy_for, partitions_for
from orchestration.defs.features.resources import LockgateDbt
from orchestration.defs.features.translator import LockgateDbtTranslator
from orchestration.gates import UpstreamGate

# dbt steps of different runs never overlap (two builds of one incremental model would race);
# the instance's dagster.yaml limits this pool to one step at a time.
DBT_POOL = "lockgate_dbt"

Definition = dg.AssetsDefinition | dg.AssetChecksDefinition
TRADING_STATE = "trading_state"


def external_sources() -> list[dg.AssetSpec]:
    """Return the dbt sources no Dagster asset loads (fills, instruments, equity snapshots).

    The runner and the CLI write them; declared here, they show in the lineage with their
    description, in a group of their own, instead of as anonymous stubs.
    """
    manifest = load_manifest(lockgate_dbt_project.manifest_path)
    specs = []
    for source in manifest["sources"].values():
        key = source_key(source["source_name"], source["name"])
        if (source["source_name"], source["name"]) not in SOURCE_KEYS:
            specs.append(dg.AssetSpec(key, group_name=TRADING_STATE,
                                      description=source.get("description") or None,
                                      kinds={"postgres"}))
    return specs


def dbt_step(group: str, upstream: Sequence[Definition]) -> dg.AssetsDefinition | None:
    """Return the assets of one dbt group, gated on the blocking checks in ``upstream``.

    None when the project has no model in the group.
    """
    manifest_path = lockgate_dbt_project.manifest_path
    groups = model_groups(load_manifest(manifest_path))
    names = sorted(name for name, grouped in groups.items() if grouped == group)
    if not names:
        return None
    gate = UpstreamGate()

    @dbt_assets(manifest=manifest_path, project=lockgate_dbt_project, name=f"dbt_{group}",
                select=" ".join(names), dagster_dbt_translator=LockgateDbtTranslator(groups),
                partitions_def=partitions_for(group), backfill_policy=backfill_policy_for(group),
                pool=DBT_POOL)
    def _step(context: AssetExecutionContext, dbt: LockgateDbt) -> Iterator[Any]:
        gate.enforce(context)
        yield from dbt.build(context)

    gate.watch(_step, upstream)
    return _step
