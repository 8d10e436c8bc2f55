"""Bus fixtures: migrated test databases as the application role sees them; Redis prefixes."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
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


# -- Redis: each test works under a key prefix of its own on the shared server -----------------

REDIS_URL = os.environ.get("LOCKGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    """Return the URL of the test Redis (``LOCKGATE_TEST_REDIS_URL``, default local 6379)."""
    return REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """Yield a key prefix no other test uses; delete every key under it afterwards.

    CI shares one Redis server (and its logical databases) between jobs, so isolation is by
    prefix, never by FLUSHDB. Fail, never skip, when Redis is unreachable.
    """
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from adapters.bus.redis import glob_escape

    prefix = f"lockgate-test:{RUN_ID}:{uuid.uuid4().hex[:12]}:"
    client = Redis.from_url(redis_url)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        pytest.fail(f"Redis is not reachable at {redis_url}: {exc}")
    try:
        yield prefix
    finally:
        # UNLINK frees memory in the background; SCAN never blocks the shared server.
        batch: list[bytes] = []
        async for key in client.scan_iter(match=glob_escape(prefix) + "*", count=1000):
            batch.append(key)
            if len(batch) == 500:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)
        await client.aclose()
