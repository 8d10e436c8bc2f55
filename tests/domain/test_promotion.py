"""The transition rule: moves, every threshold failing alone is named, overrides, validation."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from domain.errors import InvalidValue
from domain.promotion import (
    MOVES,
    Actor,
    BacktestMetrics,
    Channel,
    CheckResult,
    DriftReport,
    Evidence,
    MoveKind,
    PaperThresholds,
    PromotionThresholds,
    StrategyState,
    TransitionRequest,
    decide,
)

R, P, L, X = (StrategyState.RESEARCH, StrategyState.PAPER, StrategyState.LIVE,
              StrategyState.RETIRED)
DAGSTER = Actor(name="dagster", channel=Channel.DAGSTER)
ADMIN = Actor(name="alice", channel=Channel.CLI, admin=True)
LIMITS = PromotionThresholds()  # min 30 trades, Sharpe >= 0.5, drawdown <= 0.25, decay <= 0.5

GOOD = Evidence(
    checks=(CheckResult(name="data_quality/candles_1m/no_gaps", passed=True),
            CheckResult(name="data_quality/candles_1m/ohlc_invariants", passed=True),
            CheckResult(name="feature_parity", passed=True, detail={"max_abs_diff": "0"})),
    backtest=BacktestMetrics(oos_trades=40, is_sharpe=Decimal("1.6"),
                             oos_sharpe=Decimal("1.1"), oos_max_drawdown=Decimal("0.12")),
    paper=DriftReport(paper_trades=25, paper_days=Decimal(20), paper_sharpe=Decimal("1.0"),
                      backtest_sharpe=Decimal("1.2"), paper_max_drawdown=Decimal("0.10"),
                      backtest_max_drawdown=Decimal("0.08")),
    features_without_live_path=(),
)


def _request(to: StrategyState, actor: Actor = DAGSTER, **kw: Any) -> TransitionRequest:
    return TransitionRequest(version="ma_crossover@abc123", to_state=to, actor=actor, **kw)


def _with(**changes: Any) -> Evidence:
    return msgspec.structs.replace(GOOD, **changes)


def _metrics(**changes: Any) -> BacktestMetrics:
    assert GOOD.backtest is not None
    return msgspec.structs.replace(GOOD.backtest, **changes)


def _paper(**changes: Any) -> DriftReport:
    assert GOOD.paper is not None
    return msgspec.structs.replace(GOOD.paper, **changes)


def _checks(*extra: CheckResult, drop: str | None = None) -> tuple[CheckResult, ...]:
    kept = tuple(c for c in GOOD.checks if drop is None or not c.covers(drop))
    return kept + extra


def test_passing_evidence_promotes_research_to_paper_and_paper_to_live() -> None:
    to_paper = decide(_request(P), R, GOOD, LIMITS)
    to_live = decide(_request(L), P, GOOD, LIMITS)

    for decision in (to_paper, to_live):
        assert decision.allowed and not decision.override
        assert decision.failures == ()
        assert decision.kind is MoveKind.PROMOTION
    assert to_paper.to_builtins()["evidence"]["backtest"]["oos_sharpe"] == "1.1"


# Each row breaks exactly one thing; the decision must refuse and name exactly that.
RESEARCH_FAILURES = [
    ("data quality check failed",
     _with(checks=_checks(CheckResult(name="data_quality/trades/no_nan", passed=False,
                                      detail={"bad_rows": 3}))),
     "check_failed:data_quality/trades/no_nan", "data_quality/trades/no_nan failed: bad_rows=3"),
    ("data quality never checked", _with(checks=_checks(drop="data_quality")),
     "check_missing:data_quality", "required check data_quality"),
    ("feature parity failed",
     _with(checks=_checks(CheckResult(name="feature_parity", passed=False), drop="feature_parity")),
     "check_failed:feature_parity", "check feature_parity failed"),
    ("feature parity never checked", _with(checks=_checks(drop="feature_parity")),
     "check_missing:feature_parity", "required check feature_parity"),
    ("an optional check failed",
     _with(checks=_checks(CheckResult(name="freshness", passed=False))),
     "check_failed:freshness", "check freshness failed"),
    ("too few trades", _with(backtest=_metrics(oos_trades=29)),
     "min_trades", "out-of-sample trades 29 < minimum 30"),
    ("oos Sharpe too low",
     _with(backtest=_metrics(oos_sharpe=Decimal("0.49"), is_sharpe=Decimal("0.6"))),
     "min_oos_sharpe", "out-of-sample Sharpe 0.49 < minimum 0.5"),
    ("oos drawdown too deep", _with(backtest=_metrics(oos_max_drawdown=Decimal("0.2501"))),
     "max_oos_drawdown", "max drawdown 0.2501 > maximum 0.25"),
    ("decays too far", _with(backtest=_metrics(is_sharpe=Decimal("2.4"))),
     "max_decay", "needs >= 1.20"),
    ("no backtest", _with(backtest=None), "backtest_missing", "no walk-forward"),
    ("feature without live path", _with(features_without_live_path=("news_sentiment_1h",)),
     "no_live_path:news_sentiment_1h", "feature news_sentiment_1h has no live path"),
    ("live paths never analysed", _with(features_without_live_path=None),
     "live_path_unknown", "not checked for a live path"),
]


@pytest.mark.parametrize(("case", "evidence", "code", "message"), RESEARCH_FAILURES,
                         ids=[row[0] for row in RESEARCH_FAILURES])
def test_each_research_threshold_failing_alone_is_named(
    case: str, evidence: Evidence, code: str, message: str,
) -> None:
    for target, current in ((P, R), (L, P)):  # paper -> live needs the research gate again
        decision = decide(_request(target), current, evidence, LIMITS)

        assert not decision.allowed, case
        assert [f.code for f in decision.failures] == [code]
        assert message in decision.failures[0].message
        assert message in decision.describe()


PAPER_FAILURES = [
    ("no drift report", _with(paper=None), "paper_missing"),
    ("too few paper trades", _with(paper=_paper(paper_trades=19)), "paper_min_trades"),
    ("too short", _with(paper=_paper(paper_days=Decimal("13.9"))), "paper_min_days"),
    ("Sharpe drifts down", _with(paper=_paper(paper_sharpe=Decimal("0.69"))),
     "paper_sharpe_drift"),
    ("Sharpe drifts up", _with(paper=_paper(paper_sharpe=Decimal("1.71"))), "paper_sharpe_drift"),
    ("paper Sharpe undefined", _with(paper=_paper(paper_sharpe=None)), "paper_sharpe_drift"),
    ("drawdown exceeds the backtest's", _with(paper=_paper(paper_max_drawdown=Decimal("0.131"))),
     "paper_drawdown_excess"),
]


@pytest.mark.parametrize(("case", "evidence", "code"), PAPER_FAILURES,
                         ids=[row[0] for row in PAPER_FAILURES])
def test_each_paper_threshold_failing_alone_blocks_live_only(
    case: str, evidence: Evidence, code: str,
) -> None:
    to_live = decide(_request(L), P, evidence, LIMITS)
    to_paper = decide(_request(P), R, evidence, LIMITS)

    assert [f.code for f in to_live.failures] == [code], case
    assert not to_live.allowed
    assert to_paper.allowed


def test_thresholds_hold_at_their_exact_bounds() -> None:
    edge = _with(backtest=BacktestMetrics(
        oos_trades=30, is_sharpe=Decimal("1.0"), oos_sharpe=Decimal("0.5"),
        oos_max_drawdown=Decimal("0.25")),
        paper=DriftReport(paper_trades=20, paper_days=Decimal(14), paper_sharpe=Decimal("0.5"),
                          backtest_sharpe=Decimal("1.0"), paper_max_drawdown=Decimal("0.30"),
                          backtest_max_drawdown=Decimal("0.25")))

    assert decide(_request(L), P, edge, LIMITS).failures == ()


def test_an_undefined_oos_sharpe_fails_the_minimum_and_the_decay_bound() -> None:
    decision = decide(_request(P), R, _with(backtest=_metrics(oos_sharpe=None)), LIMITS)

    assert [f.code for f in decision.failures] == ["min_oos_sharpe", "max_decay"]
    assert "undefined" in decision.failures[0].message


def test_every_failure_is_named_at_once() -> None:
    bad = _with(checks=(CheckResult(name="data_quality/x", passed=False),),
                backtest=_metrics(oos_trades=1, oos_max_drawdown=Decimal("0.9")),
                features_without_live_path=("b_feature", "a_feature"))

    codes = [f.code for f in decide(_request(P), R, bad, LIMITS).failures]

    assert codes == ["check_missing:feature_parity", "check_failed:data_quality/x",
                     "no_live_path:a_feature", "no_live_path:b_feature", "min_trades",
                     "max_oos_drawdown"]


def test_thresholds_are_per_strategy_configuration() -> None:
    strict = PromotionThresholds(required_checks=("data_quality", "feature_parity", "freshness"),
                                 min_trades=50, min_oos_sharpe=Decimal("1.5"))
    lenient = PromotionThresholds(required_checks=("data_quality",), min_trades=1,
                                  min_oos_sharpe=Decimal(0), max_decay=Decimal(1))

    refused = decide(_request(P), R, GOOD, strict)
    allowed = decide(_request(P), R, _with(checks=_checks(drop="feature_parity")), lenient)

    assert [f.code for f in refused.failures] == [
        "check_missing:freshness", "min_trades", "min_oos_sharpe"]
    assert allowed.allowed


@pytest.mark.parametrize(("current", "target"),
                         list(itertools.product(StrategyState, StrategyState)))
def test_only_the_documented_moves_exist(current: StrategyState, target: StrategyState) -> None:
    decision = decide(_request(target, ADMIN, reason="ops", override=True), current, GOOD,
                      LIMITS)

    assert decision.allowed is ((current, target) in MOVES)
    if not decision.allowed:
        assert decision.failures[0].code in {"same_state", "no_such_move"}
        assert not decision.failures[0].overridable


def test_the_moves_are_promotions_forward_demotions_back_and_retirement_from_any() -> None:
    assert {m for m, k in MOVES.items() if k is MoveKind.PROMOTION} == {(R, P), (P, L)}
    assert {m for m, k in MOVES.items() if k is MoveKind.DEMOTION} == {(P, R), (L, P), (L, R)}
    assert {m for m, k in MOVES.items() if k is MoveKind.RETIREMENT} == {(R, X), (P, X), (L, X)}
    assert decide(_request(L), R, GOOD, LIMITS).failures[0].code == "no_such_move"
    assert "retired is final" in decide(_request(R), X, GOOD, LIMITS).describe()


def test_demotion_and_retirement_need_a_reason_but_no_evidence() -> None:
    nothing = Evidence()

    without = decide(_request(R), L, nothing, LIMITS)
    demoted = decide(_request(R, reason="slippage spiked"), L, nothing, LIMITS)
    retired = decide(_request(X, reason="superseded"), P, nothing, LIMITS)

    assert [f.code for f in without.failures] == ["reason_required"]
    assert demoted.allowed and demoted.kind is MoveKind.DEMOTION
    assert retired.allowed and retired.kind is MoveKind.RETIREMENT


def test_an_admin_override_with_a_reason_lifts_failing_checks_and_is_recorded() -> None:
    bad = _with(checks=_checks(CheckResult(name="freshness", passed=False)),
                backtest=_metrics(oos_trades=3))

    decision = decide(_request(P, ADMIN, reason="known vendor outage", override=True), R, bad,
                      LIMITS)

    assert decision.allowed and decision.override
    assert [f.code for f in decision.failures] == ["check_failed:freshness", "min_trades"]
    assert decision.to_builtins()["override"] is True
    assert "admin override" in decision.describe()


@pytest.mark.parametrize(("actor", "reason", "codes"), [
    (ADMIN, None, ["override_reason_required"]),
    (ADMIN, "   ", ["override_reason_required"]),
    (Actor(name="bob", channel=Channel.API), "because", ["override_not_admin"]),
])
def test_an_override_needs_a_reason_and_an_admin(actor: Actor, reason: str | None,
                                                 codes: list[str]) -> None:
    decision = decide(_request(P, actor, reason=reason, override=True), R,
                      _with(backtest=_metrics(oos_trades=3)), LIMITS)

    assert not decision.allowed and not decision.override
    assert [f.code for f in decision.failures] == [*codes, "min_trades"]


def test_no_override_lifts_a_feature_without_a_live_path() -> None:
    evidence = _with(features_without_live_path=("glassnode_sopr",))

    decision = decide(_request(P, ADMIN, reason="I insist", override=True), R, evidence, LIMITS)

    assert not decision.allowed and decision.override_requested
    assert "feature glassnode_sopr has no live path" in decision.describe()
    assert "(no override lifts this)" in decision.describe()


@pytest.mark.parametrize("build", [
    lambda: PromotionThresholds(max_decay=Decimal("1.5")),
    lambda: PromotionThresholds(max_oos_drawdown=Decimal(-1)),
    lambda: PromotionThresholds(min_trades=-1),
    lambda: PromotionThresholds(min_oos_sharpe=Decimal("NaN")),
    lambda: PromotionThresholds(required_checks=("a", "a")),
    lambda: PromotionThresholds(required_checks=("",)),
    lambda: PaperThresholds(min_days=Decimal("-1")),
    lambda: BacktestMetrics(oos_trades=1, is_sharpe=Decimal("Infinity"), oos_sharpe=None,
                            oos_max_drawdown=Decimal(0)),
    lambda: BacktestMetrics(oos_trades=-1, is_sharpe=None, oos_sharpe=None,
                            oos_max_drawdown=Decimal(0)),
    lambda: CheckResult(name=" padded", passed=True),
    lambda: Actor(name="dagster", channel=Channel.DAGSTER, admin=True),
    lambda: Actor(name="", channel=Channel.CLI),
    lambda: TransitionRequest(version="has space", to_state=P, actor=DAGSTER),
])
def test_invalid_configuration_and_evidence_fail_at_construction(build: Any) -> None:
    with pytest.raises(InvalidValue):
        build()


def test_metrics_from_engine_floats_are_kept_as_they_print() -> None:
    metrics = BacktestMetrics.of(oos_trades=31, is_sharpe=1.2345678901234567, oos_sharpe=None,
                                 oos_max_drawdown=0.1)

    assert metrics.is_sharpe == Decimal("1.2345678901234567")
    assert metrics.oos_max_drawdown == Decimal("0.1")


def test_thresholds_round_trip_through_json_and_refuse_unknown_keys() -> None:
    custom = PromotionThresholds(min_trades=12, paper=PaperThresholds(min_days=Decimal("7.5")))

    decoded = msgspec.json.decode(msgspec.json.encode(custom), type=PromotionThresholds)

    assert decoded == custom
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"min_trade": 3}', type=PromotionThresholds)
