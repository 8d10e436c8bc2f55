"""Promotion storage: the registry, recorded evidence, thresholds, and the one transition.

``transition`` is the storage function of ARCHITECTURE.md decision 6. Inside one transaction it
locks the version's registry row (``select ... for update`` in the database function
``strategy_lock_version``), reads the recorded evidence and the strategy's thresholds, applies
the domain rule (``domain.promotion.decide``) and hands the decision to the database function
``strategy_transition`` (migration V0005), which alone may change the state and which writes,
in the same transaction, the audit_log entry with the evidence and the outbox row of the
``strategy.transitioned`` event. Refused attempts are audited as well. After the commit the
outbox is published to the bus: at-least-once, with an envelope id
(``strategy/<version>/transition/<audit id>``) by which consumers drop repeats. A bus that is
away leaves the event in the outbox for the next ``publish_outbox``.

Why the lock makes the evidence stable: recording a check or evidence inserts a row whose
foreign key takes ``FOR KEY SHARE`` on the registry row, which waits for our ``FOR UPDATE``; so
nothing is recorded for the version between the rule's reading and the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import msgspec

from domain.messaging import Bus, BusUnavailable, decode_envelope
from domain.promotion import (
    Actor,
    BacktestMetrics,
    CheckResult,
    Decision,
    DriftReport,
    Evidence,
    PromotionThresholds,
    StrategyState,
    TransitionRequest,
    check_version,
    decide,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
# Any constant; it only serialises outbox publishers so events leave in commit order.
_OUTBOX_LOCK = 0x4F7574626F78  # "Outbox"

# A SECURITY DEFINER function takes the row lock, so the role needs no UPDATE privilege.
_LOCK_ROW = "select name, state from strategy_lock_version($1)"
_LATEST_CHECKS = """
    select distinct on (check_name) check_name, passed, detail::text as detail
    from strategy_checks where version = $1
    order by check_name, checked_at desc, id desc"""
_LATEST_EVIDENCE = """
    select distinct on (kind) kind, payload::text as payload
    from strategy_evidence where version = $1
    order by kind, id desc"""
_TRANSITION = """
    select audit_id, move_kind, transitioned_at
    from strategy_transition($1, $2, $3, $4, $5, $6, $7, $8::jsonb)"""
_LIST = """
    select r.version, r.name, r.state, r.params::text as params, r.created_at, r.updated_at,
           c.passed, c.total, c.failing, b.payload::text as backtest,
           a.action, a.actor, a.logged_at, coalesce((a.detail ->> 'override')::boolean, false)
               as override
    from strategy_registry r
    left join lateral (
        select count(*) filter (where l.passed) as passed, count(*) as total,
               coalesce(array_agg(l.check_name order by l.check_name)
                        filter (where not l.passed), '{}') as failing
        from (select distinct on (s.check_name) s.check_name, s.passed
              from strategy_checks s where s.version = r.version
              order by s.check_name, s.checked_at desc, s.id desc) l) c on true
    left join lateral (
        select e.payload from strategy_evidence e
        where e.version = r.version and e.kind = 'backtest'
        order by e.id desc limit 1) b on true
    left join lateral (
        select g.action, g.actor, g.logged_at, g.detail from audit_log g
        where g.subject = r.version and g.action like 'strategy.transition%'
        order by g.logged_at desc, g.id desc limit 1) a on true
    where $1::text is null or r.state = $1
    order by r.name, r.created_at, r.version"""


class UnknownVersion(LookupError):
    """No strategy version of that name is registered."""

    def __init__(self, version: str) -> None:
        super().__init__(f"unknown strategy version {version!r}; register it first")
        self.version = version


class VersionConflict(ValueError):
    """A version is registered already, with another strategy name or other parameters."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """A transition attempt as stored: the decision, its audit entry, events published."""

    decision: Decision
    audit_id: int
    at: datetime
    published: int


@dataclass(frozen=True, slots=True)
class VersionSummary:
    """One registry row with its latest evidence and its latest transition attempt."""

    version: str
    name: str
    state: StrategyState
    params: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    checks_passed: int
    checks_total: int
    failing_checks: tuple[str, ...]
    backtest: BacktestMetrics | None
    last_action: str | None
    last_actor: str | None
    last_at: datetime | None
    last_override: bool


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# -- Registry and evidence -----------------------------------------------------------------------

async def register_version(conn: asyncpg.Connection, version: str, name: str,
                           params: Mapping[str, Any]) -> bool:
    """Register a version in research; return False if it was registered already.

    Raise ``VersionConflict`` if the version exists with another name or other parameters:
    a version is the hash of code and parameters, so that is a bug in whoever hashed.
    """
    check_version(version)
    encoded = _json(dict(params))
    inserted = await conn.fetchval(
        "insert into strategy_registry (version, name, params) values ($1, $2, $3::jsonb)"
        " on conflict (version) do nothing returning true", version, name, encoded)
    if inserted:
        return True
    same = await conn.fetchval(
        "select name = $2 and params = $3::jsonb from strategy_registry where version = $1",
        version, name, encoded)
    if not same:
        raise VersionConflict(f"version {version!r} is registered with another name or "
                              "other parameters")
    return False


async def record_checks(conn: asyncpg.Connection, version: str,
                        checks: Sequence[CheckResult]) -> None:
    """Record check results for a version (the latest result per name is what counts)."""
    await _guard_version(conn.executemany(
        "insert into strategy_checks (version, check_name, passed, detail)"
        " values ($1, $2, $3, $4::jsonb)",
        [(version, c.name, c.passed, _json(c.detail)) for c in checks]), version)


async def record_backtest(conn: asyncpg.Connection, version: str,
                          metrics: BacktestMetrics) -> None:
    """Record a version's walk-forward metrics."""
    await _record(conn, version, "backtest", metrics)


async def record_paper_drift(conn: asyncpg.Connection, version: str,
                             report: DriftReport) -> None:
    """Record a paper-versus-backtest drift report (the evidence ``paper -> live`` needs)."""
    await _record(conn, version, "paper_drift", report)


async def record_live_path(conn: asyncpg.Connection, version: str,
                           features_without_live_path: Sequence[str]) -> None:
    """Record which of the version's features have no live path (empty: all have one)."""
    await _record(conn, version, "live_path",
                  {"features_without_live_path": sorted(features_without_live_path)})


async def _record(conn: asyncpg.Connection, version: str, kind: str, payload: Any) -> None:
    await _guard_version(conn.execute(
        "insert into strategy_evidence (version, kind, payload) values ($1, $2, $3::jsonb)",
        version, kind, _json(payload)), version)


async def _guard_version(pending: Any, version: str) -> None:
    try:
        await pending
    except asyncpg.ForeignKeyViolationError:
        raise UnknownVersion(version) from None


async def load_evidence(conn: asyncpg.Connection, version: str) -> Evidence:
    """Return the latest recorded evidence of a version."""
    checks = tuple(CheckResult(name=r["check_name"], passed=r["passed"],
                               detail=msgspec.json.decode(r["detail"]))
                   for r in await conn.fetch(_LATEST_CHECKS, version))
    latest = {r["kind"]: r["payload"] for r in await conn.fetch(_LATEST_EVIDENCE, version)}
    live_path = latest.get("live_path")
    return Evidence(
        checks=checks,
        backtest=_decode(latest.get("backtest"), BacktestMetrics),
        paper=_decode(latest.get("paper_drift"), DriftReport),
        features_without_live_path=None if live_path is None else tuple(
            msgspec.json.decode(live_path)["features_without_live_path"]))


def _decode(text: str | None, kind: type[T]) -> T | None:
    return None if text is None else msgspec.json.decode(text, type=kind)


# -- Thresholds ----------------------------------------------------------------------------------

async def load_thresholds(conn: asyncpg.Connection, strategy_name: str) -> PromotionThresholds:
    """Return a strategy's promotion thresholds (the defaults when none are stored)."""
    text = await conn.fetchval(
        "select thresholds::text from strategy_thresholds where strategy_name = $1",
        strategy_name)
    stored = _decode(text, PromotionThresholds)
    return stored if stored is not None else PromotionThresholds()


async def set_thresholds(conn: asyncpg.Connection, strategy_name: str,
                         thresholds: PromotionThresholds, actor: Actor) -> None:
    """Store a strategy's thresholds and audit the change with the previous ones."""
    async with conn.transaction():
        previous = await conn.fetchval(
            "select thresholds::text from strategy_thresholds where strategy_name = $1"
            " for update", strategy_name)
        await conn.execute(
            "insert into strategy_thresholds (strategy_name, thresholds, updated_by)"
            " values ($1, $2::jsonb, $3) on conflict (strategy_name) do update set"
            " thresholds = excluded.thresholds, updated_by = excluded.updated_by,"
            " updated_at = now()", strategy_name, _json(thresholds), actor.name)
        await conn.execute(
            "insert into audit_log (actor, action, subject, detail)"
            " values ($1, 'strategy.thresholds_set', $2, $3::jsonb)", actor.name, strategy_name,
            _json({"actor": actor, "thresholds": thresholds,
                   "previous": None if previous is None else msgspec.json.decode(previous)}))


# -- The transition ------------------------------------------------------------------------------

async def transition(conn: asyncpg.Connection, request: TransitionRequest, *,
                     bus: Bus | None = None) -> Recorded:
    """Apply the transition rule to ``request`` and record the outcome, allowed or refused.

    Commits its own transaction (so call it outside one), then publishes the event on ``bus``
    if one is given. A refused decision is returned, not raised: ``decision.allowed`` says,
    ``decision.failures`` names every failing check and threshold. Raise ``UnknownVersion``
    for an unregistered version.
    """
    if conn.is_in_transaction():
        raise RuntimeError("transition() commits its own transaction before it publishes the "
                           "event; call it outside a transaction")
    async with conn.transaction():
        row = await conn.fetchrow(_LOCK_ROW, request.version)
        if row is None:
            raise UnknownVersion(request.version)
        evidence = await load_evidence(conn, request.version)
        thresholds = await load_thresholds(conn, row["name"])
        decision = decide(request, StrategyState(row["state"]), evidence, thresholds)
        stored = await conn.fetchrow(
            _TRANSITION, decision.version, decision.from_state.value, decision.to_state.value,
            decision.allowed, decision.override, request.actor.name, request.reason,
            _json(decision.to_builtins()))
    published = 0
    if bus is not None and decision.allowed:
        published = await publish_outbox_quietly(conn, bus)
    return Recorded(decision, stored["audit_id"], stored["transitioned_at"], published)


async def publish_outbox(conn: asyncpg.Connection, bus: Bus, *, limit: int = 1000) -> int:
    """Publish unpublished outbox events in order, one transaction each; return how many.

    Publishers serialise on an advisory lock, so events leave in commit order. An event whose
    append reached the bus just before the process died is appended again (at-least-once).
    """
    published = 0
    while published < limit:
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock($1)", _OUTBOX_LOCK)
            row = await conn.fetchrow(
                "select id, stream, envelope::text as envelope from outbox"
                " where published_at is null order by id limit 1")
            if row is None:
                return published
            await bus.append(row["stream"], decode_envelope(row["envelope"]))
            await conn.execute("update outbox set published_at = now() where id = $1",
                               row["id"])
        published += 1
    return published


async def publish_outbox_quietly(conn: asyncpg.Connection, bus: Bus) -> int:
    """Publish the outbox; if the bus is away, log it and leave the events for a later call."""
    try:
        return await publish_outbox(conn, bus)
    except BusUnavailable as exc:
        log.warning("bus unavailable, strategy events stay in the outbox: %s", exc)
        return 0


# -- Listing -------------------------------------------------------------------------------------

async def list_versions(conn: asyncpg.Connection,
                        state: StrategyState | None = None) -> list[VersionSummary]:
    """Return registered versions (of one state, or all) with their latest evidence."""
    rows = await conn.fetch(_LIST, None if state is None else state.value)
    return [VersionSummary(
        version=r["version"], name=r["name"], state=StrategyState(r["state"]),
        params=msgspec.json.decode(r["params"]), created_at=r["created_at"],
        updated_at=r["updated_at"], checks_passed=r["passed"], checks_total=r["total"],
        failing_checks=tuple(r["failing"]),
        backtest=_decode(r["backtest"], BacktestMetrics), last_action=r["action"],
        last_actor=r["actor"], last_at=r["logged_at"], last_override=r["override"],
    ) for r in rows]
