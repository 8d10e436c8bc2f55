"""Dagster's instance under the Lockgate home, with its storage in Lockgate's PostgreSQL.

``<home>/dagster/dagster.yaml`` (``DAGSTER_HOME``) points runs, event logs and schedules at the
same server and database as everything else, embedded or not, in a schema of their own
(``dagster``) that the application role owns the tables of: Dagster connects as that role,
never as a superuser. The file names no secret: a password travels in the environment variable
`PASSWORD_ENV` of the processes that read the file. It is rewritten on every start, because
the embedded server's socket directory is only known then.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import dagster as dg

from adapters.storage.migrate import check_role
from orchestration.dbt_profile import dbt_env

STORAGE_SCHEMA = "dagster"
PASSWORD_ENV = "LOCKGATE_DAGSTER_PG_PASSWORD"
HOME_DIR = "dagster"
# One dbt step at a time across runs (the pool of the dbt steps, orchestration.defs.features).
DBT_POOL_LIMIT = 1
MAX_CONCURRENT_RUNS = 4


@dataclass(frozen=True, slots=True)
class DagsterHome:
    """The instance folder and the environment its processes need (``DAGSTER_HOME``, ...)."""

    path: Path
    env: dict[str, str]

    def instance(self) -> dg.DagsterInstance:
        """Open the instance (Postgres storage) for runs made in this process."""
        return dg.DagsterInstance.from_config(str(self.path))


def instance_config(app_dsn: str) -> dict[str, Any]:
    """Return the content of ``dagster.yaml`` for an application DSN (a libpq URI)."""
    parts = dbt_env(app_dsn)  # the same parsing dbt's profile gets: socket dirs included
    host = parts["LOCKGATE_DBT_HOST"]
    params: dict[str, str] = {"options": f"-csearch_path={STORAGE_SCHEMA}",
                              "application_name": "lockgate-dagster"}
    if host.startswith("/"):
        # A unix socket directory cannot be the URL's host; libpq takes it as a parameter.
        params.update(host=host, port=parts["LOCKGATE_DBT_PORT"])
        host = "localhost"
    if "LOCKGATE_DBT_SSLMODE" in parts:
        params["sslmode"] = parts["LOCKGATE_DBT_SSLMODE"]
    database: dict[str, Any] = {
        # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3, which is not installed.
        "scheme": "postgresql+psycopg2",
        "username": parts["LOCKGATE_DBT_USER"],
        "hostname": host,
        "port": int(parts["LOCKGATE_DBT_PORT"]),
        "db_name": parts["LOCKGATE_DBT_DBNAME"],
        "params": params,
    }
    if parts["LOCKGATE_DBT_PASSWORD"]:
        database["password"] = {"env": PASSWORD_ENV}
    return {
        "storage": {"postgres": {"postgres_db": database}},
        # Runs queue; the daemon starts them, a few at a time.
        "run_coordinator": {"module": "dagster._core.run_coordinator",
                            "class": "QueuedRunCoordinator"},
        "concurrency": {"runs": {"max_concurrent_runs": MAX_CONCURRENT_RUNS},
                        "pools": {"default_limit": DBT_POOL_LIMIT}},
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }


def prepare_home(home: Path, admin_dsn: str, app_dsn: str, app_role: str) -> DagsterHome:
    """Create the storage schema (as the admin) and write ``dagster.yaml``; return the home."""
    asyncio.run(ensure_storage_schema(admin_dsn, app_role))
    folder = home.expanduser().resolve() / HOME_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "dagster.yaml"
    # JSON is YAML too, and needs no YAML writer. Written on every start: edits are lost.
    text = json.dumps(instance_config(app_dsn), indent=2) + "\n"
    temporary = target.with_suffix(".yaml.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)  # readers never see half a file
    env = {"DAGSTER_HOME": str(folder)}
    password = dbt_env(app_dsn)["LOCKGATE_DBT_PASSWORD"]
    if password:
        env[PASSWORD_ENV] = password
    return DagsterHome(folder, env)


async def ensure_storage_schema(admin_dsn: str, app_role: str) -> None:
    """Create schema `STORAGE_SCHEMA` if missing; let the application role create in it."""
    role = check_role(app_role)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"create schema if not exists {STORAGE_SCHEMA}")
        await conn.execute(f'grant usage, create on schema {STORAGE_SCHEMA} to "{role}"')
    finally:
        await conn.close()


def apply_environment(home: DagsterHome) -> None:
    """Export the home's variables into this process (for an instance opened here)."""
    os.environ.update(home.env)
