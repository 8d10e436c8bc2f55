"""``lockgate dagster``: the UI answers on its port with the daemon running beside it, and a
SIGTERM stops both, with every process they started, and the Dagster storage is PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO
from tests.orchestration.conftest import sql

# dbt and the Dagster processes take seconds per step.
pytestmark = pytest.mark.slow

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
START_TIMEOUT_S = 180.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _carrying(dagster_home: Path) -> list[psutil.Process]:
    """Return the processes whose environment names this test's DAGSTER_HOME."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("DAGSTER_HOME") == str(dagster_home):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_lockgate_dagster_serves_the_ui_and_stops_cleanly_on_sigterm(
    migrated_database: str, app_role: str, tmp_path: Path,
) -> None:
    # Arrange
    port = _free_port()
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LOCKGATE_", "DAGSTER_"))}
    env.update(LOCKGATE_DATABASE_URL=migrated_database, LOCKGATE_APP_ROLE=app_role,
               LOCKGATE_HOME=str(home))
    log = tmp_path / "lockgate-dagster.log"

    # Act: start, wait for the UI, stop
    with log.open("w") as output:
        process = subprocess.Popen([LOCKGATE, "dagster", "--port", str(port)], cwd=REPO,
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _answers(f"http://127.0.0.1:{port}/server_info"):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
            children = [int(pid) for pid in re.findall(r"(?:webserver|daemon) pid (\d+)",
                                                       log.read_text())]
            running = [psutil.Process(pid).is_running() for pid in children]
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()

    # Assert: it answered with both children up, then left nothing behind
    assert len(children) == 2 and all(running)
    assert code == 0, log.read_text()
    assert not _carrying(home.resolve() / "dagster")
    assert not _answers(f"http://127.0.0.1:{port}/server_info")
    # the instance lives in the database: Dagster's tables in their own schema
    (tables,) = sql(migrated_database, "select count(*) from information_schema.tables"
                                       " where table_schema = 'dagster'")
    assert tables[0] > 5
    assert (home / "dagster" / "dagster.yaml").is_file()
