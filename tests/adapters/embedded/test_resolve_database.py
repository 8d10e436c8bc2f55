"""resolve_database: a configured URL wins and starts nothing; otherwise the embedded server."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from adapters.config import load_settings
from adapters.secrets import ChainSecretProvider, Secret
from adapters.storage.database import DatabaseTarget, resolve_database
from adapters.storage.embedded import EmbeddedPostgres
from tests.conftest import ADMIN_DSN, RUN_ID

NO_SECRETS = ChainSecretProvider()
PLANTED = "planted-s3cr3t-0d9e44"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Keep the real environment's LOCKGATE_* variables and ./lockgate.toml out of the test."""
    for name in list(os.environ):
        if name.startswith("LOCKGATE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


async def test_a_configured_url_starts_no_embedded_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("LOCKGATE_DATABASE_URL", ADMIN_DSN)
    monkeypatch.setenv("LOCKGATE_HOME", str(home))

    target = resolve_database(load_settings(secrets=NO_SECRETS))

    assert target == DatabaseTarget(admin_dsn=Secret(ADMIN_DSN), embedded=False)
    assert not (home / "postgres").exists()
    assert not home.exists()
    conn = await asyncpg.connect(target.admin_dsn.reveal())
    try:
        assert await conn.fetchval("select 1") == 1
    finally:
        await conn.close()


async def test_without_a_url_the_embedded_server_is_used_and_the_app_role_connects(
    shared_server: EmbeddedPostgres,
) -> None:
    settings = load_settings(secrets=NO_SECRETS, home=shared_server.home,
                             app_role=f"lockgate_app_{RUN_ID}", app_password=PLANTED)

    target = resolve_database(settings)

    assert target.embedded
    assert target.admin_dsn.reveal() == shared_server.status().dsn
    # The role is the migrations' to create; here only how it connects is under test.
    admin = await asyncpg.connect(target.admin_dsn.reveal())
    try:
        await admin.execute(f'create role "{settings.app_role}" login nosuperuser')
        app_dsn = target.app_dsn(settings.app_role, settings.app_password)
        assert PLANTED not in app_dsn.reveal()  # trust over the socket: no password
        app = await asyncpg.connect(app_dsn.reveal())
        try:
            assert await app.fetchval("select current_user") == settings.app_role
            assert await app.fetchval("select current_database()") == "lockgate"
        finally:
            await app.close()
    finally:
        await admin.execute(f'drop role if exists "{settings.app_role}"')
        await admin.close()


def test_app_dsn_for_a_configured_server_swaps_user_and_password() -> None:
    target = DatabaseTarget(
        admin_dsn=Secret("postgresql://owner:ownerpw@db.example:5433/lockgate"
                         "?sslmode=require&user=owner"),
        embedded=False)

    app = target.app_dsn("lockgate_app", Secret("p@ss/w:rd"))

    assert app.reveal() == ("postgresql://lockgate_app:p%40ss%2Fw%3Ard@db.example:5433/lockgate"
                            "?sslmode=require")


def test_app_dsn_for_the_embedded_server_keeps_the_socket_and_drops_the_password() -> None:
    target = DatabaseTarget(
        admin_dsn=Secret("postgresql://postgres@/lockgate?host=/tmp/x/.lockgate/postgres&port=5432"),
        embedded=True)

    app = target.app_dsn("lockgate_app", Secret(PLANTED))

    assert app.reveal() == (
        "postgresql://lockgate_app@/lockgate?host=/tmp/x/.lockgate/postgres&port=5432")


def test_a_target_never_shows_its_dsn() -> None:
    target = DatabaseTarget(admin_dsn=Secret(f"postgresql://u:{PLANTED}@h/db"), embedded=False)

    assert PLANTED not in repr(target)
    assert PLANTED not in str(dataclasses.asdict(target))
