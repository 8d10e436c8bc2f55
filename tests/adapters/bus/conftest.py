"""Bus fixtures: migrated test databases as the application role sees them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import ADMIN_DSN, RUN_ID, _admin, _with_database


def as_role(dsn: str, role: str) -> str:
    """Return ``dsn`` logging in as ``role`` (trust authentication on the test server)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


@pytest.fixture
def app_dsn(migrated_database: str, app_role: str) -> str:
    """Return a DSN for a migrated database of this test's own, as the application role.

    The bus runs as the application, never as a superuser, so the grants are tested too.
    """
    return as_role(migrated_database, app_role)


@pytest.fixture(scope="module")
def shared_app_dsn(app_role: str) -> Iterator[str]:
    """Return a DSN for a migrated database shared by one module, as the application role.

    For the contract suite only: each of its tests names its streams and namespaces uniquely
    (as on a shared Redis), and one database instead of one per test keeps the folder fast.
    """
    from adapters.storage.migrate import migrate

    name = f"lockgate_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'create database "{name}"'))
    try:
        admin_dsn = _with_database(ADMIN_DSN, name)
        asyncio.run(migrate(admin_dsn, app_role=app_role))
        yield as_role(admin_dsn, app_role)
    finally:
        asyncio.run(_admin(f'drop database if exists "{name}" with (force)'))
