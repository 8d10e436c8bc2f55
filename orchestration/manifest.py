"""Keep the dbt manifest that the code location loads up to date (``dbt parse``).

`orchestration.definitions` builds the dbt assets from ``manifest.json`` when it is imported, so
the manifest must exist first. `ensure_manifest` parses the project when the manifest is missing
or older than a file of the project; it needs no database (the profile's defaults suffice), and
it does not import dagster-dbt, so commands that only prepare start fast.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration.dbt_profile import DBT_PROJECT_DIR, dbt_executable

# Dagster's own target folder (orchestration.dbt_project): the manifest the code location loads
# is never overwritten half-way by a `dbt` command someone runs in dbt_project/.
TARGET_PATH = "target/dagster"
# Folders dbt writes into: their files say nothing about whether the manifest is current.
_GENERATED = frozenset({"target", "logs", "dbt_packages"})
PARSE_TIMEOUT_S = 300.0


class ManifestError(RuntimeError):
    """``dbt parse`` failed; the message carries dbt's output."""


def manifest_path() -> Path:
    """Return where the code location reads the manifest from."""
    return DBT_PROJECT_DIR / TARGET_PATH / "manifest.json"


def manifest_is_current() -> bool:
    """Return True when the manifest exists and no project file is newer."""
    path = manifest_path()
    if not path.is_file():
        return False
    built = path.stat().st_mtime
    return all(source.stat().st_mtime <= built for source in _project_files())


def ensure_manifest(force: bool = False) -> Path:
    """Run ``dbt parse`` if the manifest is missing or stale (or ``force``); return its path."""
    path = manifest_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(path.parent / ".parse.lock"):
        # Another process may have parsed while this one waited for the lock.
        if force or not manifest_is_current():
            _parse(path.parent)
    return path


def _parse(target: Path) -> None:
    project = DBT_PROJECT_DIR
    # The LOCKGATE_DBT_* connection of the caller is irrelevant to parsing and may be stale.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LOCKGATE_DBT_", "DBT_"))}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_USE_COLORS="false")
    command = [str(dbt_executable()), "parse", "--project-dir", str(project),
               "--profiles-dir", str(project),
               "--target-path", str(target), "--log-path", str(target / "logs")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                            timeout=PARSE_TIMEOUT_S)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ManifestError(f"dbt parse failed (exit {result.returncode}):\n{output}")
    # dbt keeps an unchanged manifest's old mtime when nothing changed; touch it so the
    # staleness test above stays true until a project file changes again.
    (target / "manifest.json").touch()


def _project_files() -> Iterator[Path]:
    project = DBT_PROJECT_DIR
    for folder, subfolders, files in os.walk(project):
        here = Path(folder)
        if here == project:
            subfolders[:] = [name for name in subfolders if name not in _GENERATED]
        for name in files:
            if name.endswith((".sql", ".yml", ".yaml", ".csv", ".md")):
                yield here / name


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    # flock: released by the kernel if the holder dies, so a crashed parse never wedges others.
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


if __name__ == "__main__":
    # ``python -m orchestration.manifest [--force]``: the Makefile's and CI's parse step.
    import sys

    sys.stdout.write(f"{ensure_manifest(force='--force' in sys.argv[1:])}\n")
