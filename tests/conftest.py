"""Shared test fixtures: where the real market data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def candles_dir() -> Path:
    """Return the shared real-candle folder; fail (never skip) when it is missing."""
    folder = SHARED_DATA / "candles"
    if not folder.is_dir():
        pytest.fail(f"real market data expected at {folder} (the shared data set beside the repo)")
    return folder


# -- PostgreSQL: each test run works in databases of its own, created and dropped here ---------
import asyncio  # noqa: E402
import os  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

ADMIN_DSN = os.environ.get("LOCKGATE_TEST_ADMIN_DSN",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
RUN_ID = uuid.uuid4().hex[:8]


def _with_database(dsn: str, database: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{database}"


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """Create an empty database for one test; yield its admin DSN; drop it afterwards."""
    name = f"lockgate_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin(f'create database "{name}"'))
    except OSError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_DSN}: {exc}")
    try:
        yield _with_database(ADMIN_DSN, name)
    finally:
        asyncio.run(_admin(f'drop database if exists "{name}" with (force)'))


@pytest.fixture(scope="session")
def app_role() -> Iterator[str]:
    """A role name of this test run's own; dropped (with what it owns) at the end."""
    role = f"lockgate_app_{RUN_ID}"
    yield role

    async def drop() -> None:
        import asyncpg

        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            if await conn.fetchval("select 1 from pg_roles where rolname = $1", role):
                # Privileges live per database; the databases are gone, so the role is free.
                await conn.execute(f'drop role "{role}"')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture
def migrated_database(fresh_database: str, app_role: str) -> str:
    """A fresh database with every migration applied; yields its admin DSN."""
    from adapters.storage.migrate import migrate

    asyncio.run(migrate(fresh_database, app_role=app_role))
    return fresh_database
