"""Asset keys, groups and automation of the dbt models, as Lockgate names them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.defs.features.layout import model_key, source_key

# Materialise a model when what it reads changed, but never past a failed blocking check
# upstream: the daemon's automation sensor then leaves it alone until the check passes again.
GATED_EAGER = (dg.AutomationCondition.eager()
               & dg.AutomationCondition.all_deps_blocking_checks_passed())


class LockgateDbtTranslator(DagsterDbtTranslator):
    """Sources keyed as the Python assets that load them; models grouped by their step."""

    def __init__(self, groups: Mapping[str, str]) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self._groups = dict(groups)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """Key sources by their loader (``raw/trades``), models by their name."""
        if dbt_resource_props["resource_type"] == "source":
            return source_key(dbt_resource_props["source_name"], dbt_resource_props["name"])
        return model_key(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Group models by the step that builds them (``candles``, ``features``...)."""
        return self._groups.get(dbt_resource_props["name"])

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any],
    ) -> dg.AutomationCondition[Any] | None:
        """Let the daemon rebuild models eagerly, gated on upstream blocking checks."""
        if dbt_resource_props["resource_type"] != "model":
            return None
        return GATED_EAGER
