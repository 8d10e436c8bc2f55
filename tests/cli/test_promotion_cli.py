"""``lockgate promote``, ``demote`` and ``strategies list|thresholds`` as a user runs them.

Each command runs as a subprocess against a database of this module's own (LOCKGATE_DATABASE_URL,
no Redis configured, so the event goes on the PostgreSQL bus). Evidence is recorded the way the
Dagster assets record it: through adapters.storage.promotion, as the application role.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from adapters.bus.postgres import PostgresBus
from adapters.storage.connect import app_dsn, connect_app, create_app_pool
from adapters.storage.promotion import (
    record_backtest,
    record_checks,
    record_live_path,
    register_version,
)
from domain.promotion import (
    TRANSITIONS_STREAM,
    BacktestMetrics,
    CheckResult,
    StrategyTransitioned,
)
from tests.conftest import ADMIN_DSN, REPO, RUN_ID, _admin, _with_database

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
PASSING = (CheckResult(name="data_quality", passed=True),
           CheckResult(name="feature_parity", passed=True))
BAD_ROWS = CheckResult(name="data_quality/trades/no_negative_prices", passed=False,
                       detail={"bad_rows": 2})


@pytest.fixture(scope="module")
def database(app_role: str) -> Iterator[str]:
    """One migrated database for the module (creating one takes a second); its admin DSN."""
    from adapters.storage.migrate import migrate

    name = f"lockgate_t_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'create database "{name}"'))
    try:
        dsn = _with_database(ADMIN_DSN, name)
        asyncio.run(migrate(dsn, app_role=app_role))
        yield dsn
    finally:
        asyncio.run(_admin(f'drop database if exists "{name}" with (force)'))


@pytest.fixture
def env(database: str, app_role: str, tmp_path: Path) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("LOCKGATE_")}
    clean.update(LOCKGATE_DATABASE_URL=database, LOCKGATE_APP_ROLE=app_role,
                 LOCKGATE_HOME=str(tmp_path / "home"))
    return clean


def _lockgate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOCKGATE, *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)


def _version(database: str, app_role: str, *extra: CheckResult, name: str = "ma_crossover",
             trades: int = 40) -> str:
    """Register a fresh version with passing evidence plus ``extra`` check results."""
    version = f"{name}@{uuid.uuid4().hex[:12]}"

    async def record() -> None:
        conn = await connect_app(app_dsn(database, app_role))
        try:
            await register_version(conn, version, name, {"fast": 10, "slow": 30})
            await record_checks(conn, version, [*PASSING, *extra])
            await record_backtest(conn, version, BacktestMetrics.of(
                oos_trades=trades, is_sharpe=1.4, oos_sharpe=0.9, oos_max_drawdown=0.1))
            await record_live_path(conn, version, [])
        finally:
            await conn.close()

    asyncio.run(record())
    return version


def _query(database: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database)
        try:
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def _audit(database: str, version: str) -> list[dict[str, Any]]:
    rows = _query(database, "select actor, action, detail::text as detail from audit_log"
                  " where subject = $1 order by id", version)
    return [{**row, "detail": json.loads(row["detail"])} for row in rows]


def _events(database: str, app_role: str, version: str) -> list[StrategyTransitioned]:
    async def replay() -> list[StrategyTransitioned]:
        pool = await create_app_pool(app_dsn(database, app_role), min_size=1, max_size=1)
        try:
            deliveries = await PostgresBus(pool).replay(TRANSITIONS_STREAM)
        finally:
            await pool.close()
        events = [msgspec.convert(d.envelope.payload, StrategyTransitioned) for d in deliveries]
        return [event for event in events if event.version == version]

    return asyncio.run(replay())


def test_bad_check_results_refuse_the_promotion_name_the_check_and_land_in_the_audit_log(
    env: dict[str, str], database: str, app_role: str,
) -> None:
    # Arrange
    version = _version(database, app_role, BAD_ROWS)

    # Act
    refused = _lockgate(env, "promote", version, "--to", "paper")
    unknown = _lockgate(env, "promote", "no-such-version@1")

    # Assert
    assert refused.returncode == 1, refused.stderr
    assert "check data_quality/trades/no_negative_prices failed: bad_rows=2" in refused.stderr
    assert unknown.returncode == 2 and "unknown strategy version" in unknown.stderr
    [entry] = _audit(database, version)
    assert (entry["action"], entry["actor"]) == ("strategy.transition_refused", getpass.getuser())
    assert [f["code"] for f in entry["detail"]["failures"]] == [
        "check_failed:data_quality/trades/no_negative_prices"]
    assert _query(database, "select state from strategy_registry where version = $1",
                  version) == [{"state": "research"}]
    assert _events(database, app_role, version) == []


def test_a_passing_version_is_promoted_listed_announced_once_and_demoted(
    env: dict[str, str], database: str, app_role: str,
) -> None:
    # Arrange
    version = _version(database, app_role)

    # Act
    promoted = _lockgate(env, "promote", version, "--to", "paper", "--actor", "ci")
    listed = _lockgate(env, "strategies", "list", "--state", "paper", "--json")
    table = _lockgate(env, "strategies", "list")
    demoted = _lockgate(env, "demote", version, "--reason", "regime change", "--actor", "ci")

    # Assert
    assert promoted.returncode == 0, promoted.stderr
    assert "research -> paper: allowed" in promoted.stdout
    assert "event published on the postgres bus" in promoted.stdout
    [row] = [r for r in json.loads(listed.stdout) if r["version"] == version]
    assert row["state"] == "paper"
    assert row["checks"] == {"passed": 2, "total": 2, "failing": []}
    assert row["backtest"]["oos_sharpe"] == "0.9"
    assert row["last"]["action"] == "strategy.transitioned" and row["last"]["actor"] == "ci"
    assert version in table.stdout and "transitioned by ci" in table.stdout
    assert demoted.returncode == 0, demoted.stderr
    assert [(e.from_state, e.to_state) for e in _events(database, app_role, version)] == [
        ("research", "paper"), ("paper", "research")]
    entries = _audit(database, version)
    assert [e["action"] for e in entries] == ["strategy.transitioned"] * 2
    assert entries[0]["detail"]["evidence"]["checks"][0]["name"] == "data_quality"
    assert entries[1]["detail"]["reason"] == "regime change"


def test_an_override_needs_a_reason_and_is_audited_as_one(
    env: dict[str, str], database: str, app_role: str,
) -> None:
    # Arrange
    version = _version(database, app_role, BAD_ROWS)

    # Act
    no_reason = _lockgate(env, "promote", version, "--override", "--actor", "alice")
    granted = _lockgate(env, "promote", version, "--override", "--actor", "alice",
                        "--reason", "rows fixed upstream; check re-run pending", "--json")

    # Assert
    assert no_reason.returncode == 1
    assert "an admin override needs a reason" in no_reason.stderr
    assert granted.returncode == 0, granted.stderr
    decision = json.loads(granted.stdout)
    assert decision["allowed"] and decision["decision"]["override"]
    entries = _audit(database, version)
    assert [e["action"] for e in entries] == ["strategy.transition_refused",
                                              "strategy.transitioned"]
    assert (entries[1]["actor"], entries[1]["detail"]["override"]) == ("alice", True)
    assert [e.override for e in _events(database, app_role, version)] == [True]


def test_thresholds_are_set_per_strategy_and_the_rule_applies_them(
    env: dict[str, str], database: str, app_role: str,
) -> None:
    # Arrange
    name = f"breakout_{uuid.uuid4().hex[:6]}"
    version = _version(database, app_role, name=name, trades=40)

    # Act
    stricter = _lockgate(env, "strategies", "thresholds", name, "--set", "min_trades=50",
                         "--set", "paper.min_days=7")
    typo = _lockgate(env, "strategies", "thresholds", name, "--set", "min_trade=5")
    refused = _lockgate(env, "promote", version)

    # Assert
    assert stricter.returncode == 0, stricter.stderr
    shown = json.loads(stricter.stdout)
    assert (shown["min_trades"], shown["paper"]["min_days"]) == (50, "7")
    assert typo.returncode == 2 and "unknown threshold 'min_trade'" in typo.stderr
    assert refused.returncode == 1
    assert "out-of-sample trades 40 < minimum 50" in refused.stderr
