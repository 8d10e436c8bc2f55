"""Run in a separate OS process: join (or start) the embedded server of a home, print a report.

Usage: ``python join_server.py HOME [BARRIER_DIR PARTIES]``. With a barrier, wait until PARTIES
processes have arrived before calling ``ensure_running``, so their first starts really race.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import asyncpg

from adapters.storage.embedded import EmbeddedPostgres


async def _select_one(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("select 1"))
    finally:
        await conn.close()


def _barrier(folder: Path, parties: int) -> None:
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + 30
    while len(list(folder.iterdir())) < parties:
        if time.monotonic() > deadline:
            raise SystemExit("barrier timed out")
        time.sleep(0.005)


def main() -> None:
    """Join the server and report its pid, the DSN and the result of ``select 1``."""
    server = EmbeddedPostgres(Path(sys.argv[1]))
    if len(sys.argv) > 3:
        _barrier(Path(sys.argv[2]), int(sys.argv[3]))
    dsn = server.ensure_running()
    report = {"pid": server.status().pid, "dsn": dsn, "one": asyncio.run(_select_one(dsn))}
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
