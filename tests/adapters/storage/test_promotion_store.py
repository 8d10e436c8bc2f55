"""Promotion in the database: the rule's decisions stored and audited, no way around it.

Everything runs as the application role. The tests share one migrated database per module
(creating one takes about a second); each works on versions and strategy names of its own.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec
import pytest

from adapters.bus.memory import InMemoryBus
from adapters.bus.postgres import PostgresBus
from adapters.storage.connect import connect_app
from adapters.storage.promotion import (
    UnknownVersion,
    VersionConflict,
    list_versions,
    publish_outbox,
    record_backtest,
    record_checks,
    record_live_path,
    record_paper_drift,
    register_version,
    set_thresholds,
    transition,
)
from domain.promotion import (
    MOVES,
    TRANSITIONED_TYPE,
    TRANSITIONS_STREAM,
    Actor,
    BacktestMetrics,
    Channel,
    CheckResult,
    DriftReport,
    PromotionThresholds,
    StrategyState,
    StrategyTransitioned,
    TransitionRequest,
)
from tests.conftest import ADMIN_DSN, RUN_ID, _admin, _with_database
from tests.support.tcp_relay import TcpRelay

DAGSTER = Actor(name="dagster", channel=Channel.DAGSTER)
ADMIN = Actor(name="alice", channel=Channel.CLI, admin=True)
PASSING = (CheckResult(name="data_quality/candles_1h/ohlc_invariants", passed=True),
           CheckResult(name="feature_parity/sma", passed=True, detail={"max_abs_diff": "0"}))
METRICS = BacktestMetrics.of(oos_trades=42, is_sharpe=1.5, oos_sharpe=1.1,
                             oos_max_drawdown=0.12)


@pytest.fixture(scope="module")
def shared_database(app_role: str) -> Iterator[str]:
    """One migrated database for the module; yields its admin DSN."""
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
def migrated_database(shared_database: str) -> str:
    """Override the per-test database of tests/conftest.py with the module's."""
    return shared_database


@pytest.fixture
def version() -> str:
    """A version no other test uses."""
    return f"ma_crossover@{uuid.uuid4().hex[:12]}"


async def _passing_version(conn: asyncpg.Connection, version: str,
                           name: str = "ma_crossover") -> None:
    await register_version(conn, version, name, {"fast": 20, "slow": 50})
    await record_checks(conn, version, PASSING)
    await record_backtest(conn, version, METRICS)
    await record_live_path(conn, version, [])


def _to(version: str, state: StrategyState, actor: Actor = DAGSTER,
        **kw: Any) -> TransitionRequest:
    return TransitionRequest(version=version, to_state=state, actor=actor, **kw)


async def _audit(conn: asyncpg.Connection, version: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("select actor, action, subject, detail::text as detail"
                            " from audit_log where action like 'strategy.transition%'"
                            " and subject = $1 order by id", version)
    return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]


async def _state(conn: asyncpg.Connection, version: str) -> str:
    return str(await conn.fetchval("select state from strategy_registry where version = $1",
                                   version))


async def _events(bus: InMemoryBus | PostgresBus, version: str) -> list[StrategyTransitioned]:
    deliveries = await bus.replay(TRANSITIONS_STREAM)
    assert all(d.envelope.type == TRANSITIONED_TYPE and d.envelope.schema_version == 1
               for d in deliveries)
    events = [msgspec.convert(d.envelope.payload, StrategyTransitioned) for d in deliveries]
    return [event for event in events if event.version == version]


async def test_a_passing_version_is_promoted_to_paper_with_evidence_and_announced_once(
    app_conn: asyncpg.Connection, version: str,
) -> None:
    # Arrange
    await _passing_version(app_conn, version)
    bus = InMemoryBus()

    # Act
    recorded = await transition(app_conn, _to(version, StrategyState.PAPER), bus=bus)
    again = await publish_outbox(app_conn, bus)

    # Assert
    assert recorded.decision.allowed and recorded.published == 1 and again == 0
    [listed] = [v for v in await list_versions(app_conn, StrategyState.PAPER)
                if v.version == version]
    assert (listed.checks_passed, listed.checks_total, listed.backtest) == (2, 2, METRICS)
    assert (listed.last_action, listed.last_actor) == ("strategy.transitioned", "dagster")
    [entry] = await _audit(app_conn, version)
    detail = entry["detail"]
    assert detail["allowed"] is True and detail["actor"]["channel"] == "dagster"
    assert detail["evidence"]["backtest"]["oos_sharpe"] == "1.1"
    assert [c["name"] for c in detail["evidence"]["checks"]] == [c.name for c in PASSING]
    assert detail["thresholds"]["min_trades"] == 30
    [event] = await _events(bus, version)
    assert (event.from_state, event.to_state, event.audit_id) == (
        StrategyState.RESEARCH, StrategyState.PAPER, recorded.audit_id)
    assert f"strategy/{version}/transition/{recorded.audit_id}" in [
        d.envelope.id for d in await bus.replay(TRANSITIONS_STREAM)]


async def test_bad_check_results_keep_a_version_in_research_with_the_check_named_in_the_audit(
    app_conn: asyncpg.Connection, version: str,
) -> None:
    # Arrange: the data was good once; then bad rows were injected and the check re-ran.
    await _passing_version(app_conn, version)
    await record_checks(app_conn, version, [CheckResult(
        name="data_quality/candles_1h/ohlc_invariants", passed=False,
        detail={"bad_rows": 3, "example": "high < low"})])
    bus = InMemoryBus()

    # Act
    recorded = await transition(app_conn, _to(version, StrategyState.PAPER), bus=bus)

    # Assert
    assert not recorded.decision.allowed
    assert await _state(app_conn, version) == "research"
    [entry] = await _audit(app_conn, version)
    assert entry["action"] == "strategy.transition_refused"
    assert [f["code"] for f in entry["detail"]["failures"]] == [
        "check_failed:data_quality/candles_1h/ohlc_invariants"]
    assert "bad_rows=3" in entry["detail"]["failures"][0]["message"]
    assert await bus.replay(TRANSITIONS_STREAM) == []
    assert await app_conn.fetchval(
        "select count(*) from outbox where envelope -> 'payload' ->> 'version' = $1", version) == 0
    [listed] = [v for v in await list_versions(app_conn) if v.version == version]
    assert listed.failing_checks == ("data_quality/candles_1h/ohlc_invariants",)


async def test_an_override_needs_a_reason_and_an_admin_and_is_audited_as_an_override(
    app_conn: asyncpg.Connection, version: str,
) -> None:
    # Arrange
    await _passing_version(app_conn, version)
    await record_checks(app_conn, version, [CheckResult(name="freshness", passed=False)])
    bus = InMemoryBus()

    # Act
    no_reason = await transition(app_conn, _to(version, StrategyState.PAPER, ADMIN,
                                               override=True))
    not_admin = await transition(app_conn, _to(
        version, StrategyState.PAPER, Actor(name="bob", channel=Channel.API), reason="x",
        override=True))
    granted = await transition(app_conn, _to(
        version, StrategyState.PAPER, ADMIN, reason="vendor outage, data verified by hand",
        override=True), bus=bus)

    # Assert
    assert not no_reason.decision.allowed and not not_admin.decision.allowed
    assert granted.decision.allowed and granted.decision.override
    assert await _state(app_conn, version) == "paper"
    entries = await _audit(app_conn, version)
    assert [e["action"] for e in entries] == [
        "strategy.transition_refused", "strategy.transition_refused", "strategy.transitioned"]
    assert "override_reason_required" in [f["code"] for f in entries[0]["detail"]["failures"]]
    assert "override_not_admin" in [f["code"] for f in entries[1]["detail"]["failures"]]
    last = entries[2]
    assert (last["actor"], last["detail"]["override"], last["detail"]["reason"]) == (
        "alice", True, "vendor outage, data verified by hand")
    assert [f["code"] for f in last["detail"]["failures"]] == ["check_failed:freshness"]
    [event] = await _events(bus, version)
    assert event.override


async def test_the_app_role_cannot_change_a_state_except_through_the_rule(
    app_conn: asyncpg.Connection, admin_conn: asyncpg.Connection, version: str,
) -> None:
    # Arrange
    await _passing_version(app_conn, version)
    await record_checks(app_conn, version, [CheckResult(name="data_quality/x", passed=False)])
    refused = (
        "update strategy_registry set state = 'live' where version = $1",
        # A forged transition flag does not help a role that does not own the table.
        "update strategy_registry set state = 'live'"
        " where version = set_config('lockgate.strategy_transition', $1, false)",
        "update strategy_registry set version = 'renamed' where version = $1",
        "delete from strategy_registry where version = $1",
        "insert into strategy_registry (version, name, state) values ($1 || 'x', 'x', 'live')",
        "update strategy_checks set passed = true where version = $1",
        "delete from strategy_checks where version = $1",
        "delete from strategy_evidence where version = $1",
    )

    # Act / Assert
    for statement in refused:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_conn.execute(statement, version)
    # A direct call of the database function with a forged "allowed" decision: the backstop.
    with pytest.raises(asyncpg.CheckViolationError, match=r"failing check.*data_quality/x"):
        await app_conn.execute(
            "select strategy_transition($1, 'research', 'paper', true, false, 'mallory', null,"
            " '{}')", version)
    # Owners and admins are held too, short of going through the function.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="only through"):
        await admin_conn.execute(
            "update strategy_registry set state = 'paper' where version = $1", version)
    assert await _state(app_conn, version) == "research"
    assert await _audit(app_conn, version) == []


async def test_concurrent_promotions_of_one_version_serialise_and_one_wins(
    app_conn: asyncpg.Connection, app_database: str, version: str,
) -> None:
    # Arrange: hold the row so that both attempts queue up on it before either decides.
    await _passing_version(app_conn, version)
    first, second = await connect_app(app_database), await connect_app(app_database)
    bus = InMemoryBus()
    try:
        holder = app_conn.transaction()
        await holder.start()
        # (through the locking function: the app role may not lock the row by itself)
        await app_conn.execute("select * from strategy_lock_version($1)", version)
        attempts = [asyncio.create_task(transition(conn, _to(version, StrategyState.PAPER),
                                                   bus=bus))
                    for conn in (first, second)]
        await _until_waiting_on_locks(app_conn, 2)

        # Act
        await holder.rollback()
        results = await asyncio.gather(*attempts)
    finally:
        await first.close()
        await second.close()

    # Assert
    assert sorted(r.decision.allowed for r in results) == [False, True]
    loser = next(r for r in results if not r.decision.allowed)
    assert [f.code for f in loser.decision.failures] == ["same_state"]
    assert await _state(app_conn, version) == "paper"
    assert [e["action"] for e in await _audit(app_conn, version)] == [
        "strategy.transitioned", "strategy.transition_refused"]
    assert len(await _events(bus, version)) == 1


async def _until_waiting_on_locks(conn: asyncpg.Connection, count: int) -> None:
    for _ in range(500):
        waiting = await conn.fetchval(
            "select count(*) from pg_stat_activity where datname = current_database()"
            " and wait_event_type = 'Lock'")
        if waiting >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the concurrent transitions never queued on the row lock")


async def test_paper_to_live_needs_a_drift_report_and_demotion_needs_a_reason(
    app_conn: asyncpg.Connection, app_pool: asyncpg.Pool, version: str,
) -> None:
    # Arrange
    await _passing_version(app_conn, version)
    bus = PostgresBus(app_pool)
    await transition(app_conn, _to(version, StrategyState.PAPER), bus=bus)

    # Act
    no_paper = await transition(app_conn, _to(version, StrategyState.LIVE), bus=bus)
    await record_paper_drift(app_conn, version, DriftReport(
        paper_trades=30, paper_days=Decimal(21), paper_sharpe=Decimal("1.0"),
        backtest_sharpe=Decimal("1.2"), paper_max_drawdown=Decimal("0.1"),
        backtest_max_drawdown=Decimal("0.09")))
    live = await transition(app_conn, _to(version, StrategyState.LIVE), bus=bus)
    no_reason = await transition(app_conn, _to(version, StrategyState.RESEARCH, ADMIN), bus=bus)
    demoted = await transition(app_conn, _to(version, StrategyState.RESEARCH, ADMIN,
                                             reason="fills drift from the model"), bus=bus)

    # Assert
    assert [f.code for f in no_paper.decision.failures] == ["paper_missing"]
    assert live.decision.allowed and demoted.decision.allowed
    assert [f.code for f in no_reason.decision.failures] == ["reason_required"]
    assert [(e.from_state, e.to_state, e.kind) for e in await _events(bus, version)] == [
        ("research", "paper", "promotion"), ("paper", "live", "promotion"),
        ("live", "research", "demotion")]
    assert await _state(app_conn, version) == "research"


async def test_thresholds_are_stored_per_strategy_audited_and_applied(
    app_conn: asyncpg.Connection, version: str,
) -> None:
    # Arrange
    strict, lenient = f"strict_{uuid.uuid4().hex[:8]}", f"lenient_{uuid.uuid4().hex[:8]}"
    await _passing_version(app_conn, version, name=strict)
    await set_thresholds(app_conn, strict, PromotionThresholds(min_trades=100), ADMIN)
    await set_thresholds(app_conn, lenient, PromotionThresholds(min_trades=1), ADMIN)

    # Act
    refused = await transition(app_conn, _to(version, StrategyState.PAPER))

    # Assert
    assert [f.code for f in refused.decision.failures] == ["min_trades"]
    assert "42 < minimum 100" in refused.decision.failures[0].message
    changes = await app_conn.fetch(
        "select subject from audit_log where action = 'strategy.thresholds_set'"
        " and subject = any($1::text[]) order by id", [strict, lenient])
    assert [r["subject"] for r in changes] == [strict, lenient]


async def test_an_event_waits_in_the_outbox_while_the_bus_is_away(
    app_database: str, app_conn: asyncpg.Connection, app_pool: asyncpg.Pool, version: str,
) -> None:
    # Arrange: a PostgreSQL bus reached through a relay the test can cut.
    port = urlsplit(app_database).port or 5432
    relay = TcpRelay("127.0.0.1", port)
    await relay.start()
    pool = await asyncpg.create_pool(app_database.replace(f":{port}/", f":{relay.port}/"),
                                     min_size=1, max_size=1)
    bus = PostgresBus(pool)
    await _passing_version(app_conn, version)
    try:
        await relay.cut()

        # Act
        recorded = await transition(app_conn, _to(version, StrategyState.PAPER), bus=bus)
        await relay.restore()
        later = await publish_outbox(app_conn, bus)
    finally:
        pool.terminate()
        await relay.cut()

    # Assert
    assert recorded.decision.allowed and recorded.published == 0
    assert later == 1
    assert len(await _events(PostgresBus(app_pool), version)) == 1


async def test_registration_and_misuse_are_refused_clearly(
    app_conn: asyncpg.Connection, version: str,
) -> None:
    assert await register_version(app_conn, version, "ma_crossover", {"fast": 20}) is True
    assert await register_version(app_conn, version, "ma_crossover", {"fast": 20}) is False

    with pytest.raises(VersionConflict):
        await register_version(app_conn, version, "ma_crossover", {"fast": 21})
    with pytest.raises(UnknownVersion):
        await record_checks(app_conn, version + "-unknown", PASSING)
    with pytest.raises(UnknownVersion):
        await transition(app_conn, _to(version + "-unknown", StrategyState.PAPER))
    async with app_conn.transaction():
        with pytest.raises(RuntimeError, match="outside a transaction"):
            await transition(app_conn, _to(version, StrategyState.PAPER))


async def test_the_database_knows_the_same_moves_as_the_domain(
    admin_conn: asyncpg.Connection,
) -> None:
    pairs = list(itertools.product(StrategyState, StrategyState))

    kinds = [await admin_conn.fetchval("select strategy_move_kind($1, $2)", a.value, b.value)
             for a, b in pairs]

    assert kinds == [MOVES[p].value if p in MOVES else None for p in pairs]
