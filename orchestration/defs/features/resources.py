"""dbt as a Dagster resource: dagster-dbt's CLI wrapper, connected like every Lockgate process.

The profile (``dbt_project/profiles.yml``) reads its connection from ``LOCKGATE_DBT_*``
variables, which ``orchestration.dbt_profile.dbt_env`` derives from the application DSN of the
``database`` resource. dagster-dbt hands dbt this process's environment, so the variables are
set around the call that starts dbt and restored afterwards. Nothing of the DSN enters the
resource's configuration (and the UI).

dbt re-parses the whole project when its profile differs from the last parse's (a few seconds
per step); each database therefore gets an artifacts folder of its own, keyed by a digest of the
connection, whose ``partial_parse.msgpack`` dagster-dbt copies into every invocation and this
resource copies back after it, so only the first step against a database parses in full.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.dbt_profile import DEFAULT_SCHEMA, dbt_env, dbt_executable
from orchestration.dbt_project import lockgate_dbt_project
from orchestration.resources import DatabaseResource

PARTIAL_PARSE = "partial_parse.msgpack"
# One dbt start at a time per process changes os.environ; steps of one in-process run are
# sequential anyway, threads of a multi-threaded caller must not interleave here.
_ENV_LOCK = threading.Lock()


class LockgateDbt(dg.ConfigurableResource["LockgateDbt"]):
    """Run dbt on Lockgate's project against the ``database`` resource's database.

    ``artifacts_dir`` holds dbt's per-invocation artifacts (default: the project's
    ``target/dagster/runs``); an invocation's folder is removed once it succeeded.
    """

    database: DatabaseResource
    target_schema: str = DEFAULT_SCHEMA
    threads: int = 4
    artifacts_dir: str | None = None

    def connection_env(self) -> dict[str, str]:
        """Return the variables dbt's profile reads (sessions in UTC)."""
        return {**dbt_env(self.database.app_dsn(), self.target_schema, self.threads),
                "PGTZ": "UTC"}

    def build(self, context: dg.AssetExecutionContext,
              args: Sequence[str] = ("build",)) -> Iterator[Any]:
        """Run ``dbt <args>`` for the step's selection; yield its Dagster events."""
        connection = self.connection_env()
        root = self._artifacts_root(connection)
        dbt = DbtCliResource(project_dir=lockgate_dbt_project,
                             dbt_executable=str(dbt_executable()))
        with _environment({**connection, "DBT_TARGET_PATH": str(root)}):
            invocation = dbt.cli(list(args), context=context)
        yield from invocation.stream()
        produced = invocation.target_path / PARTIAL_PARSE
        if produced.is_file():
            shutil.copyfile(produced, root / PARTIAL_PARSE)
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    def _artifacts_root(self, connection: Mapping[str, str]) -> Path:
        base = (Path(self.artifacts_dir) if self.artifacts_dir else
                Path(lockgate_dbt_project.project_dir) / lockgate_dbt_project.target_path
                / "runs")
        digest = hashlib.sha256(repr(sorted(connection.items())).encode()).hexdigest()[:16]
        root = base / digest
        root.mkdir(parents=True, exist_ok=True)
        return root


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    with _ENV_LOCK:
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, old in saved.items():
                if old is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = old
