"""Apply the SQL migrations in order, once each, under an advisory lock.

Run with an owner/admin connection; the application itself connects as its own role, which
the run creates (``LOGIN``, no superuser) and grants to (``grants.sql``) every time.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "adapters.storage.migrations"
_FILE = re.compile(r"^V(\d{4})__([a-z0-9_]+)\.sql$")
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Any constant works; it only keeps two migrating processes from interleaving.
_LOCK_KEY = 0x4C6F636B67617465  # "Lockgate"

PostStep = Callable[[asyncpg.Connection], Awaitable[None]]


class MigrationError(RuntimeError):
    """The schema history and the migration files disagree."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """Return the SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """Return the migration files shipped with the package, in version order."""
    found = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions: {versions}")
    return found


def render(sql: str, app_role: str) -> str:
    """Fill the ``{{app_role}}`` placeholder with the quoted role name."""
    return sql.replace("{{app_role}}", f'"{check_role(app_role)}"')


def check_role(name: str) -> str:
    """Return ``name`` if it is a safe role name (lower-case identifier)."""
    if not _ROLE.match(name):
        raise MigrationError(f"role name must be a lower-case identifier, got {name!r}")
    return name


async def migrate(
    admin_dsn: str, app_role: str = "lockgate_app", app_password: str | None = None,
    post_steps: tuple[PostStep, ...] = (), migrations: Sequence[Migration] | None = None,
) -> list[str]:
    """Apply pending migrations and the grants; return the names applied now.

    ``migrations`` defaults to the files shipped with the package.
    """
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
        try:
            return await _migrate_locked(conn, app_role, app_password, post_steps,
                                         load_migrations() if migrations is None else migrations)
        finally:
            await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()


async def _migrate_locked(
    conn: asyncpg.Connection, app_role: str, app_password: str | None,
    post_steps: tuple[PostStep, ...], migrations: Sequence[Migration],
) -> list[str]:
    await conn.execute(
        "create table if not exists lockgate_schema_migrations ("
        " version integer primary key, name text not null, checksum text not null,"
        " applied_at timestamptz not null default now())")
    await _ensure_role(conn, app_role, app_password)
    applied = {r["version"]: r for r in await conn.fetch(
        "select version, name, checksum from lockgate_schema_migrations")}
    done: list[str] = []
    for migration in migrations:
        row = applied.get(migration.version)
        if row is not None:
            if row["checksum"] != migration.checksum:
                raise MigrationError(
                    f"migration V{migration.version:04d} {migration.name} changed after it was "
                    "applied; add a new migration instead")
            continue
        async with conn.transaction():
            await conn.execute(render(migration.sql, app_role))
            await conn.execute(
                "insert into lockgate_schema_migrations (version, name, checksum) "
                "values ($1, $2, $3)", migration.version, migration.name, migration.checksum)
        log.debug("applied migration V%04d %s", migration.version, migration.name)
        done.append(f"V{migration.version:04d}__{migration.name}")
    for step in post_steps:
        await step(conn)
    grants = resources.files(MIGRATIONS_PACKAGE).joinpath("grants.sql")
    if grants.is_file():
        await conn.execute(render(grants.read_text(encoding="utf-8"), app_role))
    return done


async def _ensure_role(conn: asyncpg.Connection, app_role: str, password: str | None) -> None:
    role = check_role(app_role)
    exists = await conn.fetchval("select 1 from pg_roles where rolname = $1", role)
    if not exists:
        await conn.execute(f'create role "{role}" login nosuperuser nocreatedb nocreaterole')
    if password is not None:
        # Sent as a literal, never logged: asyncpg does not log statements.
        literal = "'" + password.replace("'", "''") + "'"
        await conn.execute(f'alter role "{role}" password {literal}')
