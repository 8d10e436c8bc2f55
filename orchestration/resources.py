"""The database every domain shares, as a Dagster resource: a real and a fixture implementation.

Assets name the resource ``database`` and type it `DatabaseResource`; the code location binds
`LockgateDatabase` (the configured server, or the embedded one, from Lockgate's settings) and
tests bind `FixtureDatabase` (a database the test created). Both hand out the application
role's DSN only: Dagster writes like every other Lockgate process, never as a superuser
(ARCHITECTURE.md decision 3).

No DSN is part of `LockgateDatabase`'s configuration, so none can show up in the Dagster UI's
run configuration; it is resolved from the settings (environment, ``lockgate.toml``, secret
providers) inside the run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
import dagster as dg

from adapters.config.settings import LockgateSettings, load_settings
from adapters.storage.connect import app_dsn, connect_app
from adapters.storage.database import DatabaseTarget, resolve_database
from adapters.storage.migrate import migrate
from adapters.storage.timescale import apply_timescale

T = TypeVar("T")


class DatabaseResource(dg.ConfigurableResource["DatabaseResource"]):
    """Where Lockgate's PostgreSQL is; subclasses say how they find it."""

    def admin_dsn(self) -> str:
        """Return the owner's DSN (migrations, tests' set-up); never used to write data."""
        raise NotImplementedError

    def app_dsn(self) -> str:
        """Return the DSN of the application role, the one assets and dbt connect with."""
        raise NotImplementedError

    async def connect(self) -> asyncpg.Connection:
        """Open one application connection (session in UTC; refuses a superuser)."""
        return await connect_app(self.app_dsn())

    def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``work(connection)`` on a fresh application connection, to completion."""
        # Resolved before the event loop starts: resolving may migrate, which runs a loop.
        dsn = self.app_dsn()

        async def main() -> T:
            conn = await connect_app(dsn)
            try:
                return await work(conn)
            finally:
                await conn.close()

        return asyncio.run(main())


class LockgateDatabase(DatabaseResource):
    """The real database: Lockgate's settings decide, the embedded server by default.

    The first use in a process resolves the settings (starting or joining the embedded server
    when no ``database_url`` is configured) and applies pending migrations, as every Lockgate
    process does before it writes.
    """

    config_file: str | None = None

    def admin_dsn(self) -> str:
        """Return the owner's DSN resolved from the settings."""
        return _resolved(self.config_file)[0].admin_dsn.reveal()

    def app_dsn(self) -> str:
        """Return the application role's DSN resolved from the settings."""
        target, settings = _resolved(self.config_file)
        return target.app_dsn(settings.app_role, settings.app_password).reveal()

    def settings(self) -> LockgateSettings:
        """Return the settings the database was resolved from."""
        return _resolved(self.config_file)[1]


class FixtureDatabase(DatabaseResource):
    """A database prepared by a test (already migrated): its admin DSN and the app role."""

    admin_url: str
    app_role: str

    def admin_dsn(self) -> str:
        """Return the test database's admin DSN."""
        return self.admin_url

    def app_dsn(self) -> str:
        """Return the DSN of the test's application role (trusted locally, no password)."""
        return app_dsn(self.admin_url, self.app_role)


_LOCK = threading.Lock()
_CACHE: dict[str | None, tuple[DatabaseTarget, LockgateSettings]] = {}


def _resolved(config_file: str | None) -> tuple[DatabaseTarget, LockgateSettings]:
    # Once per process and settings file: the embedded server is started (or joined) and the
    # migrations are checked once, not in every step of every run.
    with _LOCK:
        if config_file not in _CACHE:
            _CACHE[config_file] = _resolve(config_file)
        return _CACHE[config_file]


def _resolve(config_file: str | None) -> tuple[DatabaseTarget, LockgateSettings]:
    settings = load_settings(config_file=Path(config_file) if config_file else None)
    target = resolve_database(settings)
    password = settings.app_password.reveal() if settings.app_password is not None else None
    asyncio.run(migrate(target.admin_dsn.reveal(), app_role=settings.app_role,
                        app_password=password, post_steps=(apply_timescale,)))
    return target, settings
