"""Fixtures for storage tests: the application role's DSN and connections to a migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from adapters.storage.connect import app_dsn, connect_app, create_app_pool


@pytest.fixture
def app_database(migrated_database: str, app_role: str) -> str:
    """Return the DSN the application uses for the migrated test database."""
    return app_dsn(migrated_database, app_role)


@pytest.fixture
async def admin_conn(migrated_database: str) -> AsyncIterator[asyncpg.Connection]:
    """Yield an admin connection to the migrated test database."""
    conn = await asyncpg.connect(migrated_database)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def app_conn(app_database: str) -> AsyncIterator[asyncpg.Connection]:
    """Yield a connection as the application role."""
    conn = await connect_app(app_database)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def app_pool(app_database: str) -> AsyncIterator[asyncpg.Pool]:
    """Yield a small pool of application connections."""
    pool = await create_app_pool(app_database, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()
