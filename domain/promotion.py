"""Promotion of strategy versions: states, allowed moves and the one transition rule.

ARCHITECTURE.md decision 6: a version moves between states only through ``decide``, a pure
policy over recorded evidence, applied by one storage function inside a transaction
(``adapters/storage/promotion.py``). Dagster, the CLI and the API all call that function.

States and moves (anything else is refused, override or not):

- promotions, which need evidence: ``research -> paper`` (the research gate) and
  ``paper -> live`` (the research gate again, plus the paper gate: a drift report);
- demotions, which need only a reason, because stepping back must never wait for evidence:
  ``paper -> research``, ``live -> paper`` (stop real money, keep watching it on paper) and
  ``live -> research``;
- retirement, from any state but ``retired``, with a reason. ``retired`` is final: a version
  is the hash of code and parameters, so coming back means registering a new one.

The research gate (thresholds per strategy, ``PromotionThresholds``):

- every required check (by default input data quality and feature parity) was recorded and
  its latest result passed; a required name ``data_quality`` covers ``data_quality`` and every
  ``data_quality/<anything>``, so a pipeline may record one result per asset check;
- every other recorded check passed too: only passing checks move a version forward;
- out-of-sample trades >= ``min_trades``; out-of-sample Sharpe >= ``min_oos_sharpe``;
  out-of-sample max drawdown <= ``max_oos_drawdown``; bounded decay from in-sample to
  out-of-sample: ``oos_sharpe >= is_sharpe * (1 - max_decay)``;
- no feature without a live path (decision 2). This one no override can lift.

The paper gate (``PaperThresholds``) compares paper trading with the backtest of the same
period: enough paper trades and days, Sharpe drift and drawdown excess within bounds.

An admin override lifts every failure but the live-path ones; it needs a non-blank reason and
an admin actor, and the decision records it as an override together with what it overrode.

Metrics are ``Decimal``: the rule compares them exactly and the audit log keeps them as
written (``BacktestMetrics.of`` takes the engine's floats through their shortest repr).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import msgspec

from domain.errors import InvalidValue


class StrategyState(StrEnum):
    """Where a strategy version stands."""

    RESEARCH = "research"
    PAPER = "paper"
    LIVE = "live"
    RETIRED = "retired"


class MoveKind(StrEnum):
    """What a move between two states is; each kind asks for different things."""

    PROMOTION = "promotion"
    DEMOTION = "demotion"
    RETIREMENT = "retirement"


_R, _P, _L, _X = (StrategyState.RESEARCH, StrategyState.PAPER, StrategyState.LIVE,
                  StrategyState.RETIRED)
# The migration's strategy_move_kind() holds the same table (a test compares them).
MOVES: Mapping[tuple[StrategyState, StrategyState], MoveKind] = MappingProxyType({
    (_R, _P): MoveKind.PROMOTION,
    (_P, _L): MoveKind.PROMOTION,
    (_P, _R): MoveKind.DEMOTION,
    (_L, _P): MoveKind.DEMOTION,
    (_L, _R): MoveKind.DEMOTION,
    (_R, _X): MoveKind.RETIREMENT,
    (_P, _X): MoveKind.RETIREMENT,
    (_L, _X): MoveKind.RETIREMENT,
})

DATA_QUALITY = "data_quality"
FEATURE_PARITY = "feature_parity"

# The event a transition publishes (after its transaction commits) for the live runner.
TRANSITIONS_STREAM = "strategy.transitions"
TRANSITIONED_TYPE = "strategy.transitioned"
TRANSITIONED_SCHEMA_VERSION = 1

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+/=-]{0,199}$")
_NAME = re.compile(r"^\S(?:.{0,198}\S)?$")


def check_version(version: str) -> str:
    """Return ``version`` if it can name a strategy version (1-200 chars, no blanks)."""
    if not _VERSION.match(version):
        raise InvalidValue(f"a strategy version is 1-200 letters, digits or ._:@+/=-, got "
                           f"{version!r}")
    return version


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name):
        raise InvalidValue(f"a {kind} name is 1-200 characters without surrounding blanks, "
                           f"got {name!r}")


def _finite(name: str, value: Decimal | None) -> None:
    if value is not None and not value.is_finite():
        raise InvalidValue(f"{name} must be finite, got {value}")


def _fraction(name: str, value: Decimal) -> None:
    _finite(name, value)
    if not Decimal(0) <= value <= Decimal(1):
        raise InvalidValue(f"{name} is a fraction between 0 and 1, got {value}")


def _non_negative(name: str, value: int | Decimal) -> None:
    if isinstance(value, Decimal):
        _finite(name, value)
    if value < 0:
        raise InvalidValue(f"{name} must not be negative, got {value}")


def as_metric(value: float | int | Decimal | None) -> Decimal | None:
    """Return a statistic as an exact ``Decimal`` (a float through its shortest repr)."""
    return None if value is None else _exact(value)


def _exact(value: float | int | Decimal) -> Decimal:
    if isinstance(value, bool):
        raise InvalidValue("a metric is a number, not a bool")
    if isinstance(value, float):
        # The engine's statistics are floats; their shortest repr is what a report shows.
        return Decimal(repr(value))
    return Decimal(value)


# -- Evidence ------------------------------------------------------------------------------------

class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded check: its name, whether it passed, and JSON detail (why, how many)."""

    name: str
    passed: bool
    detail: dict[str, Any] = {}

    def __post_init__(self) -> None:
        _check_name("check", self.name)

    def covers(self, required: str) -> bool:
        """Return whether this result counts towards the required check ``required``."""
        return self.name == required or self.name.startswith(required + "/")


class BacktestMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """Walk-forward results: out-of-sample trades, Sharpe both sides, out-of-sample drawdown.

    A Sharpe ratio is ``None`` when it is undefined (flat equity); the rule then fails it.
    ``oos_max_drawdown`` is a positive fraction of the running peak (0.2 = 20 %).
    """

    oos_trades: int
    is_sharpe: Decimal | None
    oos_sharpe: Decimal | None
    oos_max_drawdown: Decimal

    def __post_init__(self) -> None:
        _non_negative("oos_trades", self.oos_trades)
        _finite("is_sharpe", self.is_sharpe)
        _finite("oos_sharpe", self.oos_sharpe)
        _fraction("oos_max_drawdown", self.oos_max_drawdown)

    @classmethod
    def of(cls, *, oos_trades: int, is_sharpe: float | Decimal | None,
           oos_sharpe: float | Decimal | None,
           oos_max_drawdown: float | Decimal) -> BacktestMetrics:
        """Build from the engine's float statistics, kept exactly as they print."""
        return cls(oos_trades=oos_trades, is_sharpe=as_metric(is_sharpe),
                   oos_sharpe=as_metric(oos_sharpe), oos_max_drawdown=_exact(oos_max_drawdown))


class DriftReport(msgspec.Struct, frozen=True, kw_only=True):
    """Paper trading against the backtest of the same bars: the evidence ``paper -> live`` needs.

    Filled by the live runner's issue; the shape and the rule are fixed here.
    """

    paper_trades: int
    paper_days: Decimal
    paper_sharpe: Decimal | None
    backtest_sharpe: Decimal | None
    paper_max_drawdown: Decimal
    backtest_max_drawdown: Decimal

    def __post_init__(self) -> None:
        _non_negative("paper_trades", self.paper_trades)
        _non_negative("paper_days", self.paper_days)
        _finite("paper_sharpe", self.paper_sharpe)
        _finite("backtest_sharpe", self.backtest_sharpe)
        _fraction("paper_max_drawdown", self.paper_max_drawdown)
        _fraction("backtest_max_drawdown", self.backtest_max_drawdown)


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """What is on record for a version: latest check results, metrics, live-path analysis.

    ``features_without_live_path`` is None when nobody analysed the version's features yet,
    which blocks promotion like a missing check does.
    """

    checks: tuple[CheckResult, ...] = ()
    backtest: BacktestMetrics | None = None
    paper: DriftReport | None = None
    features_without_live_path: tuple[str, ...] | None = None


# -- Configuration -------------------------------------------------------------------------------

class PaperThresholds(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bounds on paper trading against the backtest, for ``paper -> live``."""

    min_trades: int = 20
    min_days: Decimal = Decimal(14)
    max_sharpe_drift: Decimal = Decimal("0.5")
    max_drawdown_excess: Decimal = Decimal("0.05")

    def __post_init__(self) -> None:
        _non_negative("paper.min_trades", self.min_trades)
        _non_negative("paper.min_days", self.min_days)
        _non_negative("paper.max_sharpe_drift", self.max_sharpe_drift)
        _fraction("paper.max_drawdown_excess", self.max_drawdown_excess)


class PromotionThresholds(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One strategy's promotion thresholds; validated at construction."""

    required_checks: tuple[str, ...] = (DATA_QUALITY, FEATURE_PARITY)
    min_trades: int = 30
    min_oos_sharpe: Decimal = Decimal("0.5")
    max_oos_drawdown: Decimal = Decimal("0.25")
    max_decay: Decimal = Decimal("0.5")
    paper: PaperThresholds = PaperThresholds()

    def __post_init__(self) -> None:
        for name in self.required_checks:
            _check_name("required check", name)
        if len(set(self.required_checks)) != len(self.required_checks):
            raise InvalidValue(f"required checks repeat a name: {self.required_checks}")
        _non_negative("min_trades", self.min_trades)
        _finite("min_oos_sharpe", self.min_oos_sharpe)
        _fraction("max_oos_drawdown", self.max_oos_drawdown)
        _fraction("max_decay", self.max_decay)


# -- Requests and decisions ----------------------------------------------------------------------

class Channel(StrEnum):
    """Through what a transition was asked for."""

    DAGSTER = "dagster"
    CLI = "cli"
    API = "api"


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who asked: a name (a user, or ``dagster``), the channel, and whether they are an admin."""

    name: str
    channel: Channel
    admin: bool = False

    def __post_init__(self) -> None:
        _check_name("actor", self.name)
        if self.admin and self.channel is Channel.DAGSTER:
            # Overrides are a person's decision; an automated run never carries one.
            raise InvalidValue("a Dagster run cannot act as an admin")


class TransitionRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Move ``version`` to ``to_state``; ``override`` asks an admin to lift failing checks."""

    version: str
    to_state: StrategyState
    actor: Actor
    reason: str | None = None
    override: bool = False

    def __post_init__(self) -> None:
        check_version(self.version)


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    """One reason a move is refused: a stable code, a message naming the check or threshold."""

    code: str
    message: str
    overridable: bool = True


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The rule's answer, with everything it looked at (it goes to the audit log whole).

    ``failures`` are what refused the move or, when ``override`` is true, what the admin
    override lifted; ``override_requested`` says whether one was asked for at all.
    """

    version: str
    from_state: StrategyState
    to_state: StrategyState
    kind: MoveKind | None
    allowed: bool
    override: bool
    override_requested: bool
    reason: str | None
    actor: Actor
    failures: tuple[Failure, ...]
    evidence: Evidence
    thresholds: PromotionThresholds

    def to_builtins(self) -> dict[str, Any]:
        """Return the decision as JSON-ready values (decimals as strings)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out

    def describe(self) -> str:
        """Return one line per outcome and failure, for people."""
        verdict = ("allowed (admin override)" if self.override
                   else "allowed" if self.allowed else "refused")
        lines = [f"{self.version}: {self.from_state} -> {self.to_state}: {verdict}"]
        held = self.override_requested and not self.allowed
        lines += [f"  - {failure.message}"
                  + (" (no override lifts this)" if held and not failure.overridable else "")
                  for failure in self.failures]
        return "\n".join(lines)


class StrategyTransitioned(msgspec.Struct, frozen=True, kw_only=True):
    """Payload of ``strategy.transitioned`` v1 on ``strategy.transitions``.

    Built by the storage function in the same transaction as the move; ``audit_id`` is the
    audit_log entry holding the evidence. The runner re-reads strategy_registry for the truth.
    """

    version: str
    name: str
    from_state: StrategyState
    to_state: StrategyState
    kind: MoveKind
    override: bool
    actor: str
    audit_id: int


# -- The rule ------------------------------------------------------------------------------------

def decide(request: TransitionRequest, current: StrategyState, evidence: Evidence,
           thresholds: PromotionThresholds) -> Decision:
    """Apply the transition rule: allow or refuse ``request`` for a version in ``current``."""
    target = request.to_state
    kind = MOVES.get((current, target))
    failures = list(_request_problems(request))
    if target is current:
        failures.append(Failure(code="same_state", overridable=False,
                                message=f"the version is already {current}"))
    elif kind is None:
        final = " (retired is final: register a new version)" if current is _X else ""
        failures.append(Failure(code="no_such_move", overridable=False,
                                message=f"no move from {current} to {target}{final}"))
    elif kind is MoveKind.PROMOTION:
        failures += _research_gate(evidence, thresholds)
        if target is _L:
            failures += _paper_gate(evidence.paper, thresholds.paper)
    elif not (request.reason or "").strip():
        failures.append(Failure(code="reason_required", overridable=False,
                                message=f"a {kind} needs a reason"))
    lifted = (request.override and bool(failures)
              and all(failure.overridable for failure in failures))
    return Decision(version=request.version, from_state=current, to_state=target, kind=kind,
                    allowed=lifted or not failures, override=lifted,
                    override_requested=request.override, reason=request.reason,
                    actor=request.actor, failures=tuple(failures), evidence=evidence,
                    thresholds=thresholds)


def _request_problems(request: TransitionRequest) -> list[Failure]:
    if not request.override:
        return []
    problems = []
    if not (request.reason or "").strip():
        problems.append(Failure(code="override_reason_required", overridable=False,
                                message="an admin override needs a reason"))
    if not request.actor.admin:
        problems.append(Failure(code="override_not_admin", overridable=False,
                                message=f"{request.actor.name} is not an admin: no override"))
    return problems


def _research_gate(evidence: Evidence, limits: PromotionThresholds) -> list[Failure]:
    failures = _check_failures(evidence.checks, limits.required_checks)
    failures += _live_path_failures(evidence.features_without_live_path)
    metrics = evidence.backtest
    if metrics is None:
        failures.append(Failure(code="backtest_missing",
                                message="no walk-forward backtest metrics are recorded"))
        return failures
    if metrics.oos_trades < limits.min_trades:
        failures.append(Failure(code="min_trades", message=(
            f"out-of-sample trades {metrics.oos_trades} < minimum {limits.min_trades}")))
    oos, insample = metrics.oos_sharpe, metrics.is_sharpe
    if oos is None or oos < limits.min_oos_sharpe:
        failures.append(Failure(code="min_oos_sharpe", message=(
            f"out-of-sample Sharpe {_shown(oos)} < minimum {limits.min_oos_sharpe}")))
    if metrics.oos_max_drawdown > limits.max_oos_drawdown:
        failures.append(Failure(code="max_oos_drawdown", message=(
            f"out-of-sample max drawdown {metrics.oos_max_drawdown} > maximum "
            f"{limits.max_oos_drawdown}")))
    floor = None if insample is None else insample * (1 - limits.max_decay)
    if oos is None or floor is None or oos < floor:
        failures.append(Failure(code="max_decay", message=(
            f"out-of-sample Sharpe {_shown(oos)} decays too far from in-sample "
            f"{_shown(insample)}: needs >= {_shown(floor)} (max decay {limits.max_decay})")))
    return failures


def _check_failures(checks: tuple[CheckResult, ...], required: tuple[str, ...]) -> list[Failure]:
    failures = []
    for name in required:
        if not any(check.covers(name) for check in checks):
            failures.append(Failure(code=f"check_missing:{name}",
                                    message=f"required check {name} has no recorded result"))
    for check in sorted(checks, key=lambda c: c.name):
        if not check.passed:
            why = f": {_detail(check.detail)}" if check.detail else ""
            failures.append(Failure(code=f"check_failed:{check.name}",
                                    message=f"check {check.name} failed{why}"))
    return failures


def _live_path_failures(features: tuple[str, ...] | None) -> list[Failure]:
    if features is None:
        return [Failure(code="live_path_unknown", overridable=False, message=(
            "the version's features were not checked for a live path"))]
    return [Failure(code=f"no_live_path:{name}", overridable=False, message=(
        f"feature {name} has no live path (no incremental twin, no fresh schedule): "
        "research only")) for name in sorted(features)]


def _paper_gate(report: DriftReport | None, limits: PaperThresholds) -> list[Failure]:
    if report is None:
        return [Failure(code="paper_missing", message="no paper-trading drift report recorded")]
    failures = []
    if report.paper_trades < limits.min_trades:
        failures.append(Failure(code="paper_min_trades", message=(
            f"paper trades {report.paper_trades} < minimum {limits.min_trades}")))
    if report.paper_days < limits.min_days:
        failures.append(Failure(code="paper_min_days", message=(
            f"paper trading lasted {report.paper_days} days < minimum {limits.min_days}")))
    paper, backtest = report.paper_sharpe, report.backtest_sharpe
    if paper is None or backtest is None or abs(paper - backtest) > limits.max_sharpe_drift:
        failures.append(Failure(code="paper_sharpe_drift", message=(
            f"paper Sharpe {_shown(paper)} drifts from the backtest's {_shown(backtest)} by "
            f"more than {limits.max_sharpe_drift}")))
    excess = report.paper_max_drawdown - report.backtest_max_drawdown
    if excess > limits.max_drawdown_excess:
        failures.append(Failure(code="paper_drawdown_excess", message=(
            f"paper max drawdown {report.paper_max_drawdown} exceeds the backtest's "
            f"{report.backtest_max_drawdown} by {excess} > {limits.max_drawdown_excess}")))
    return failures


def _shown(value: Decimal | None) -> str:
    return "undefined" if value is None else str(value)


def _detail(detail: Mapping[str, Any]) -> str:
    # Enough to name the problem in one line; the audit log keeps the whole detail.
    text = ", ".join(f"{key}={value}" for key, value in detail.items())
    return text if len(text) <= 200 else text[:197] + "..."
