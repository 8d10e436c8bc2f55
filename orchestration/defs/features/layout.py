"""How the dbt project maps onto Dagster: asset keys, groups, and which models run in which step.

The dbt models run in four steps, so that checks can sit between them (a failed blocking check
on the candles stops the features in the same run) and so that only day-partitioned work is
partitioned:

- ``candles`` (daily partitions): the candle marts (``models/marts/candles``) and everything
  they are built from;
- ``vendors`` (unpartitioned): models that read vendor sources only (vendor features);
- ``features`` (daily partitions): the feature marts (``models/marts/features``) and what they
  are built from, less the two groups above;
- ``pnl`` (unpartitioned): everything else (positions and P&L from fills).

The split is read from the manifest by folder and lineage, so a model helper authors add under
an existing folder lands in the right step without a change here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg

CANDLES, VENDORS, FEATURES, PNL = "candles", "vendors", "features", "pnl"
GROUPS = (CANDLES, VENDORS, FEATURES, PNL)
PARTITIONED_GROUPS = frozenset({CANDLES, FEATURES})

# dbt source (source name, table) -> the key of the Python asset that loads it, so lineage runs
# from the loader through dbt (a Python asset keyed ["raw", "trades"] is dbt's source).
SOURCE_KEYS: Mapping[tuple[str, str], dg.AssetKey] = {
    ("lockgate", "trades"): dg.AssetKey(["raw", "trades"]),
    ("lockgate", "exchange_candles"): dg.AssetKey(["raw", "exchange_candles"]),
    ("vendor", "raw_vendor_prices"): dg.AssetKey(["raw", "vendor_prices"]),
    ("vendor", "raw_vendor_news"): dg.AssetKey(["raw", "vendor_news"]),
    ("vendor", "raw_vendor_metrics"): dg.AssetKey(["raw", "vendor_metrics"]),
}
VENDOR_SOURCE = "vendor"


@dataclass(frozen=True, slots=True)
class FeatureModel:
    """A feature model's ``meta.lockgate`` (ARCHITECTURE.md decision 2), as the checks use it."""

    name: str
    kind: str
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    available_at_column: str
    params: Mapping[str, Any]
    twin: str | None

    @property
    def warmup(self) -> int:
        """Return how many leading bars of a series may lack a value (longest period, + 1)."""
        periods = [value for value in _flatten(self.params.values())
                   if isinstance(value, int) and not isinstance(value, bool)]
        return max(periods, default=0) + 1


def source_key(source_name: str, table: str) -> dg.AssetKey:
    """Return the asset key of a dbt source table (``lockgate/<table>`` unless mapped)."""
    return SOURCE_KEYS.get((source_name, table), dg.AssetKey([source_name, table]))


def model_key(name: str) -> dg.AssetKey:
    """Return the asset key of a dbt model (its name)."""
    return dg.AssetKey([name])


@cache
def load_manifest(path: Path) -> Mapping[str, Any]:
    """Read a manifest once per process."""
    loaded: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def model_groups(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Return each model's step (``candles``, ``vendors``, ``features`` or ``pnl``) by name."""
    models = {uid: node for uid, node in manifest["nodes"].items()
              if node["resource_type"] == "model"}
    parents = {uid: [dep for dep in node["depends_on"]["nodes"]
                     if dep in models or dep.startswith("source.")]
               for uid, node in models.items()}

    def ancestors(roots: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            uid = stack.pop()
            if uid in seen or uid not in models:
                continue
            seen.add(uid)
            stack.extend(parents[uid])
        return seen

    def in_folder(uid: str, *folder: str) -> bool:
        return tuple(models[uid]["fqn"][1:1 + len(folder)]) == folder

    def sources(uid: str) -> set[str]:
        found: set[str] = set()
        for ancestor in ancestors([uid]):
            found.update(manifest["sources"][dep]["source_name"] for dep in parents[ancestor]
                         if dep.startswith("source."))
        return found

    candles = ancestors(uid for uid in models if in_folder(uid, "marts", "candles"))
    vendors = {uid for uid in models if uid not in candles
               and sources(uid) == {VENDOR_SOURCE}}
    features = ancestors(uid for uid in models if in_folder(uid, "marts", "features"))
    features -= candles | vendors
    group = {}
    for uid, node in models.items():
        group[node["name"]] = (CANDLES if uid in candles else VENDORS if uid in vendors
                               else FEATURES if uid in features else PNL)
    return group


def feature_models(manifest: Mapping[str, Any]) -> list[FeatureModel]:
    """Return the models whose ``meta.lockgate`` declares features, by name."""
    found = []
    for node in manifest["nodes"].values():
        meta = (node.get("config", {}).get("meta") or {}).get("lockgate")
        if node["resource_type"] != "model" or not isinstance(meta, Mapping):
            continue
        found.append(FeatureModel(
            name=node["name"], kind=str(meta.get("kind", "")),
            columns=tuple(meta.get("columns") or ()), keys=tuple(meta.get("keys") or ()),
            available_at_column=str(meta.get("available_at_column") or "available_at"),
            params=dict(meta.get("params") or {}), twin=meta.get("twin")))
    return sorted(found, key=lambda model: model.name)


def _flatten(values: Iterable[Any]) -> Iterable[Any]:
    for value in values:
        if isinstance(value, list | tuple):
            yield from _flatten(value)
        else:
            yield value
