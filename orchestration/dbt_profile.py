"""Run Lockgate's dbt project against the application's database.

The dbt profile (``dbt_project/profiles.yml``) reads its connection from ``LOCKGATE_DBT_*``
environment variables; ``dbt_env`` derives them from the application DSN (a libpq URI), so dbt
connects as the application role like every other Lockgate process (ARCHITECTURE.md decision 3)
and works against the embedded server (socket directory in the URI's query) too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
DEFAULT_SCHEMA = "analytics"
DEFAULT_THREADS = 4
_SCHEMES = ("postgresql", "postgres")


class DbtFailed(RuntimeError):
    """A dbt command exited with an error; the message carries dbt's output."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


def dbt_env(dsn: str, schema: str = DEFAULT_SCHEMA,
            threads: int = DEFAULT_THREADS) -> dict[str, str]:
    """Return the ``LOCKGATE_DBT_*`` variables the profile reads, taken from a libpq URI.

    Accepts ``postgresql://user[:password]@host[:port]/dbname`` and the embedded server's form,
    whose query carries ``host=/socket/dir`` (and ``port``); query parameters win over the
    authority part, as in libpq.
    """
    parts = urlsplit(dsn)
    if parts.scheme not in _SCHEMES:
        raise ValueError("expected a postgresql:// URI")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    user = query.get("user") or unquote(parts.username or "")
    password = query.get("password") or unquote(parts.password or "")
    host = query.get("host") or unquote(parts.hostname or "")
    port = query.get("port") or (str(parts.port) if parts.port else "5432")
    dbname = query.get("dbname") or unquote(parts.path.lstrip("/"))
    missing = [name for name, value in (("user", user), ("host", host), ("dbname", dbname))
               if not value]
    if missing:
        raise ValueError(f"the DSN names no {', '.join(missing)}")
    if not port.isdigit():
        raise ValueError("the DSN's port is not a number")
    env = {
        "LOCKGATE_DBT_HOST": host,
        "LOCKGATE_DBT_PORT": port,
        "LOCKGATE_DBT_USER": user,
        "LOCKGATE_DBT_PASSWORD": password,
        "LOCKGATE_DBT_DBNAME": dbname,
        "LOCKGATE_DBT_SCHEMA": schema,
        "LOCKGATE_DBT_THREADS": str(threads),
    }
    if "sslmode" in query:
        env["LOCKGATE_DBT_SSLMODE"] = query["sslmode"]
    return env


def dbt_executable() -> Path:
    """Return the dbt command installed beside this Python (the project's virtualenv)."""
    return Path(sys.executable).parent / "dbt"


def run_dbt(
    args: Sequence[str], dsn: str, schema: str = DEFAULT_SCHEMA, *,
    project_dir: Path = DBT_PROJECT_DIR, target_path: Path | None = None,
    threads: int = DEFAULT_THREADS, extra_env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``dbt <args>`` on the project with the connection of ``dsn``; return the result.

    ``target_path`` moves dbt's artefacts (manifest, run_results.json) and logs away from the
    project folder, so concurrent runs do not share them. Raise ``DbtFailed`` with dbt's output
    (the password removed) when dbt exits with an error.
    """
    connection = dbt_env(dsn, schema, threads)
    env = {**os.environ, **connection, **(extra_env or {})}
    # Sessions in UTC (libpq reads PGTZ), no telemetry from this machine.
    env.update(PGTZ="UTC", DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_USE_COLORS="false")
    if target_path is not None:
        env.update(DBT_TARGET_PATH=str(target_path), DBT_LOG_PATH=str(target_path / "logs"))
    command = [str(dbt_executable()), *args, "--project-dir", str(project_dir),
               "--profiles-dir", str(project_dir)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                            timeout=timeout)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        message = f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{output}"
        secret = connection["LOCKGATE_DBT_PASSWORD"]
        raise DbtFailed(message.replace(secret, "***") if secret else message,
                        result.returncode)
    return result
