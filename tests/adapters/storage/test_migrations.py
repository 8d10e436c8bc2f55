"""Migrations on a fresh database: applied once, checksums guarded, the application's grants."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import asyncpg
import pytest

from adapters.storage.migrate import MigrationError, load_migrations, migrate

CORE_TABLES = {
    "instruments", "trades", "exchange_candles", "signals", "risk_decisions", "orders", "fills",
    "positions", "equity_snapshots", "audit_log", "strategy_registry", "backtest_runs",
}


async def test_migrations_apply_once_and_create_a_login_role_without_superuser_powers(
    fresh_database: str, app_role: str,
) -> None:
    expected = [f"V{m.version:04d}__{m.name}" for m in load_migrations()]

    first = await migrate(fresh_database, app_role=app_role)
    second = await migrate(fresh_database, app_role=app_role)

    assert first == expected
    assert first[0] == "V0001__core"
    assert second == []
    conn = await asyncpg.connect(fresh_database)
    try:
        tables = {r["tablename"] for r in await conn.fetch(
            "select tablename from pg_tables where schemaname = 'public'")}
        history = await conn.fetch("select version, checksum from lockgate_schema_migrations")
        role = await conn.fetchrow(
            "select rolsuper, rolcreaterole, rolcreatedb, rolcanlogin from pg_roles"
            " where rolname = $1", app_role)
    finally:
        await conn.close()
    assert CORE_TABLES | {"lockgate_schema_migrations"} <= tables
    assert {r["version"]: r["checksum"] for r in history} == {
        m.version: m.checksum for m in load_migrations()}
    assert role is not None
    assert dict(role) == {"rolsuper": False, "rolcreaterole": False, "rolcreatedb": False,
                          "rolcanlogin": True}


async def test_a_migration_changed_after_it_was_applied_is_refused(
    migrated_database: str, app_role: str,
) -> None:
    changed = [dataclasses.replace(m, sql=m.sql + "\n-- edited after release\n")
               if m.version == 1 else m for m in load_migrations()]

    with pytest.raises(MigrationError, match="V0001 core changed after it was applied"):
        await migrate(migrated_database, app_role=app_role, migrations=changed)


async def test_audit_log_is_append_only_for_the_app_by_grants_and_for_admins_by_trigger(
    app_conn: asyncpg.Connection, admin_conn: asyncpg.Connection,
) -> None:
    entry = await app_conn.fetchval(
        "insert into audit_log (actor, action, subject, detail)"
        " values ('runner', 'promote', 'v1', '{\"to\": \"paper\"}') returning id")

    changes = ("update audit_log set actor = 'someone else'", "delete from audit_log",
               "truncate audit_log")
    for statement in changes:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_conn.execute(statement)
    for statement in changes:
        with pytest.raises(asyncpg.RaiseError, match="audit_log is append-only"):
            await admin_conn.execute(statement)

    assert entry is not None
    assert await admin_conn.fetchval("select actor from audit_log where id = $1", entry) == "runner"
    assert await admin_conn.fetchval("select count(*) from audit_log") == 1


async def test_the_app_keeps_trading_state_and_only_reads_the_schema_history(
    app_conn: asyncpg.Connection,
) -> None:
    await app_conn.execute(
        "insert into instruments (id, venue, base, quote, price_precision, size_precision)"
        " values ('BINANCE:BTC/USDT', 'BINANCE', 'BTC', 'USDT', 2, 6)")
    await app_conn.execute(
        "insert into positions (account_id, strategy_id, instrument_id, qty, avg_px, updated_at)"
        " values ('paper', 'ma', 'BINANCE:BTC/USDT', 0.5, 42000.12, now())")

    await app_conn.execute("update positions set qty = 0.25 where account_id = 'paper'")
    qty = await app_conn.fetchval("select qty from positions")
    await app_conn.execute("delete from positions")

    assert qty == Decimal("0.25")
    assert await app_conn.fetchval("select count(*) from positions") == 0
    assert await app_conn.fetchval("select min(version) from lockgate_schema_migrations") == 1
    for statement in ("insert into lockgate_schema_migrations (version, name, checksum)"
                      " values (999, 'sneaky', 'x')",
                      "update lockgate_schema_migrations set checksum = 'x'",
                      "delete from lockgate_schema_migrations"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_conn.execute(statement)
