"""``lockgate strategies list|thresholds``, ``lockgate promote`` and ``lockgate demote``.

Every move goes through ``adapters.storage.promotion.transition`` (the one transition rule);
the event is published after the commit on the configured bus. A refused move exits 1 and
names every failing check and threshold; bad input (an unknown version) exits 2.

The CLI acts as an admin: whoever runs it holds the database credentials, which is the admin
boundary of a Lockgate deployment. An override still needs ``--reason``, and lands in the audit
log under ``--actor`` (default: the operating-system user).
"""

from __future__ import annotations

import asyncio
import getpass
import json
from typing import Any

import click

from cli.options import InputError

_PROMOTE_TO = ("paper", "live")
_DEMOTE_TO = ("research", "paper", "retired")
_STATES = ("research", "paper", "live", "retired")


class Refused(click.ClickException):
    """The transition rule refused the move: exit status 1, every failure named."""

    exit_code = 1


@click.group()
def strategies() -> None:
    """Registered strategy versions, their evidence and promotion thresholds."""


@strategies.command(name="list")
@click.option("--state", type=click.Choice(_STATES), default=None, help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array on stdout.")
def list_command(state: str | None, as_json: bool) -> None:
    """List strategy versions with their state, latest checks and metrics."""
    rows = asyncio.run(_list(state))
    if as_json:
        click.echo(json.dumps([_summary_json(row) for row in rows], indent=2))
        return
    if not rows:
        click.echo("no strategy versions registered")
        return
    header = ("VERSION", "NAME", "STATE", "CHECKS", "TRADES", "OOS SHARPE", "OOS DD", "LAST")
    table = [header, *(_summary_row(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                   .rstrip())


async def _list(state: str | None) -> list[Any]:
    from adapters.storage.promotion import list_versions
    from cli.db import _settings, open_app_connection
    from domain.promotion import StrategyState

    conn = await open_app_connection(_settings())
    try:
        return await list_versions(conn, None if state is None else StrategyState(state))
    finally:
        await conn.close()


def _summary_row(row: Any) -> tuple[str, ...]:
    checks = f"{row.checks_passed}/{row.checks_total}"
    if row.failing_checks:
        checks += " failing: " + ", ".join(row.failing_checks)
    metrics = row.backtest
    last = "" if row.last_action is None else (
        f"{row.last_action.removeprefix('strategy.')} by {row.last_actor}"
        + (" (override)" if row.last_override else "")
        + f" {row.last_at:%Y-%m-%d %H:%M}Z")
    return (row.version, row.name, row.state.value, checks,
            "-" if metrics is None else str(metrics.oos_trades),
            "-" if metrics is None or metrics.oos_sharpe is None else str(metrics.oos_sharpe),
            "-" if metrics is None else str(metrics.oos_max_drawdown), last)


def _summary_json(row: Any) -> dict[str, Any]:
    import msgspec

    return {
        "version": row.version, "name": row.name, "state": row.state.value,
        "params": row.params, "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "checks": {"passed": row.checks_passed, "total": row.checks_total,
                   "failing": list(row.failing_checks)},
        "backtest": None if row.backtest is None else msgspec.to_builtins(row.backtest),
        "last": None if row.last_action is None else {
            "action": row.last_action, "actor": row.last_actor,
            "at": row.last_at.isoformat(), "override": row.last_override},
    }


@strategies.command()
@click.argument("name")
@click.option("--set", "changes", multiple=True, metavar="KEY=VALUE",
              help="Change one threshold (dotted for paper ones: paper.min_days=7; "
                   "required_checks=a,b); repeat for several.")
@click.option("--actor", default=None, help="Who changes them (default: the OS user).")
def thresholds(name: str, changes: tuple[str, ...], actor: str | None) -> None:
    """Show (or, with --set, change) the promotion thresholds of strategy NAME."""
    click.echo(json.dumps(asyncio.run(_thresholds(name, changes, actor)), indent=2))


async def _thresholds(name: str, changes: tuple[str, ...], actor: str | None) -> Any:
    import msgspec

    from adapters.storage.promotion import load_thresholds, set_thresholds
    from cli.db import _settings, open_app_connection
    from domain.promotion import PromotionThresholds

    conn = await open_app_connection(_settings())
    try:
        current = msgspec.to_builtins(await load_thresholds(conn, name))
        if not changes:
            return current
        for change in changes:
            _apply_change(current, change)
        try:
            updated = msgspec.convert(current, PromotionThresholds, strict=False)
        except msgspec.ValidationError as exc:
            raise InputError(f"invalid thresholds: {exc}") from None
        await set_thresholds(conn, name, updated, _actor(actor))
        return msgspec.to_builtins(updated)
    finally:
        await conn.close()


def _apply_change(config: dict[str, Any], change: str) -> None:
    key, sep, value = change.partition("=")
    path = key.strip().split(".")
    if not sep or not all(path):
        raise InputError(f"expected KEY=VALUE, got {change!r}")
    node = config
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            raise InputError(f"unknown threshold {key.strip()!r}")
        node = node[part]
    if path[-1] not in node:
        raise InputError(f"unknown threshold {key.strip()!r}; known: {', '.join(sorted(node))}")
    value = value.strip()
    node[path[-1]] = ([item.strip() for item in value.split(",") if item.strip()]
                      if path[-1] == "required_checks" else value)


@click.command()
@click.argument("version")
@click.option("--to", "to_state", type=click.Choice(_PROMOTE_TO), default="paper",
              show_default=True, help="The state to promote to.")
@click.option("--override", is_flag=True,
              help="Admin override: move even though checks or thresholds fail (never past a "
                   "feature without a live path). Needs --reason; audited as an override.")
@click.option("--reason", default=None, help="Why (required with --override).")
@click.option("--actor", default=None, help="Who asks (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON on stdout.")
def promote(version: str, to_state: str, override: bool, reason: str | None,
            actor: str | None, as_json: bool) -> None:
    """Promote strategy VERSION if its recorded checks and metrics pass the rule."""
    _run(version, to_state, actor, reason, override, as_json)


@click.command()
@click.argument("version")
@click.option("--to", "to_state", type=click.Choice(_DEMOTE_TO), default="research",
              show_default=True, help="The state to step back to (retired is final).")
@click.option("--reason", required=True, help="Why the version steps back.")
@click.option("--actor", default=None, help="Who asks (default: the OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON on stdout.")
def demote(version: str, to_state: str, reason: str, actor: str | None, as_json: bool) -> None:
    """Move strategy VERSION back (to research, paper from live, or retired)."""
    _run(version, to_state, actor, reason, False, as_json)


def _actor(name: str | None) -> Any:
    from domain.errors import InvalidValue
    from domain.promotion import Actor, Channel

    try:
        return Actor(name=name or getpass.getuser(), channel=Channel.CLI, admin=True)
    except InvalidValue as exc:
        raise InputError(str(exc)) from None


def _run(version: str, to_state: str, actor: str | None, reason: str | None, override: bool,
         as_json: bool) -> None:
    from domain.errors import InvalidValue
    from domain.promotion import StrategyState, TransitionRequest

    try:
        request = TransitionRequest(version=version, to_state=StrategyState(to_state),
                                    actor=_actor(actor), reason=reason, override=override)
    except InvalidValue as exc:
        raise InputError(str(exc)) from None
    recorded, bus = asyncio.run(_transition(request))
    decision = recorded.decision
    if as_json:
        click.echo(json.dumps({"allowed": decision.allowed, "audit_id": recorded.audit_id,
                               "published": recorded.published,
                               "decision": decision.to_builtins()}, indent=2))
    if not decision.allowed:
        raise Refused(decision.describe() + f"\n(audit log entry {recorded.audit_id})")
    if as_json:
        return
    click.echo(decision.describe())
    click.echo(f"audit log entry {recorded.audit_id}; " + (
        f"event published on the {bus} bus" if recorded.published
        else "the event waits in the outbox (bus unavailable)"))


async def _transition(request: Any) -> tuple[Any, str]:
    import dataclasses

    from adapters.storage.promotion import UnknownVersion, transition
    from cli.db import _settings, open_app_connection

    settings = _settings()
    conn = await open_app_connection(settings)
    try:
        try:
            recorded = await transition(conn, request)
        except UnknownVersion as exc:
            raise InputError(str(exc)) from None
        if not recorded.decision.allowed:
            return recorded, ""
        published, bus = await _publish(settings, conn)
        return dataclasses.replace(recorded, published=published), bus
    finally:
        await conn.close()


async def _publish(settings: Any, conn: Any) -> tuple[int, str]:
    """Publish the outbox on the configured bus (Redis, else PostgreSQL); 0 if it is away."""
    from adapters.bus.factory import open_messaging
    from adapters.storage.connect import create_app_pool
    from adapters.storage.database import resolve_database
    from adapters.storage.promotion import publish_outbox_quietly
    from domain.messaging import BusUnavailable

    pool = None
    if settings.redis_url is None:  # the PostgreSQL bus needs a pool of its own
        target = resolve_database(settings)
        pool = await create_app_pool(
            target.app_dsn(settings.app_role, settings.app_password).reveal(),
            min_size=1, max_size=2)
    try:
        try:
            messaging = await open_messaging(settings, pool)
        except (BusUnavailable, OSError) as exc:
            click.echo(f"bus unavailable ({exc}); the event stays in the outbox", err=True)
            return 0, "none"
        try:
            return await publish_outbox_quietly(conn, messaging.bus), messaging.backend
        finally:
            await messaging.close()
    finally:
        if pool is not None:
            await pool.close()
