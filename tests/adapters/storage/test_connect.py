"""Application connections: the app's role, UTC sessions, never a superuser."""

from __future__ import annotations

import asyncpg
import pytest

from adapters.storage.connect import SuperuserRefused, app_dsn, connect_app, create_app_pool
from adapters.storage.migrate import MigrationError
from tests.conftest import ADMIN_DSN


@pytest.mark.parametrize(("admin", "expected"), [
    ("postgresql://postgres@127.0.0.1:5432/lockgate",
     "postgresql://lockgate_app@127.0.0.1:5432/lockgate"),
    ("postgres://admin:s3cret@db.internal/lockgate?sslmode=require",
     "postgres://lockgate_app@db.internal/lockgate?sslmode=require"),
    # The embedded server's URI: a socket directory as host, the user in the query string.
    ("postgresql:///lockgate?host=/srv/.lockgate/run&user=postgres&password=x",
     "postgresql://lockgate_app@/lockgate?host=/srv/.lockgate/run"),
])
def test_app_dsn_keeps_server_and_database_and_swaps_the_user(admin: str, expected: str) -> None:
    assert app_dsn(admin, "lockgate_app") == expected


def test_app_dsn_quotes_the_app_password() -> None:
    dsn = app_dsn("postgresql://postgres@localhost/db", "lockgate_app", password="p@ss:w/rd")

    assert dsn == "postgresql://lockgate_app:p%40ss%3Aw%2Frd@localhost/db"


@pytest.mark.parametrize(("admin", "role"), [
    ("host=localhost dbname=db", "lockgate_app"),
    ("postgresql://postgres@localhost/db", 'app"; drop role postgres; --'),
])
def test_app_dsn_refuses_what_it_cannot_rewrite_safely(admin: str, role: str) -> None:
    with pytest.raises((ValueError, MigrationError)):
        app_dsn(admin, role)


async def test_the_app_connects_as_its_role_with_sessions_in_utc(
    migrated_database: str, app_role: str,
) -> None:
    admin = await asyncpg.connect(migrated_database)
    try:
        # A database whose default is not UTC shows that the session setting wins.
        database = await admin.fetchval("select current_database()")
        await admin.execute(f'alter database "{database}" set timezone = \'America/New_York\'')
    finally:
        await admin.close()
    dsn = app_dsn(migrated_database, app_role)

    conn = await connect_app(dsn, server_settings={"timezone": "Asia/Tokyo"})
    pool = await create_app_pool(dsn, min_size=1, max_size=1)
    try:
        user, zone = await conn.fetchrow("select current_user, current_setting('timezone')")
        pooled_zone = await pool.fetchval("select current_setting('timezone')")
    finally:
        await conn.close()
        await pool.close()

    assert (user, zone, pooled_zone) == (app_role, "UTC", "UTC")


async def test_a_superuser_connection_is_refused() -> None:
    with pytest.raises(SuperuserRefused, match="superuser"):
        await connect_app(ADMIN_DSN)
    with pytest.raises(SuperuserRefused, match="superuser"):
        await create_app_pool(ADMIN_DSN, min_size=1, max_size=1)
