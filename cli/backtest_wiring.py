"""Build the pieces of a backtest from command-line values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from risk.gate import RiskEngine
from risk.rules import MaxDrawdownHalt, MaxPositionNotional, RiskRule
from risk.sizing import PercentOfEquity, RiskPerTrade, Sizer

HUNDRED = Decimal(100)


def make_strategy(cls: Any, params: dict[str, str], instrument_id: InstrumentId) -> Any:
    """Build the strategy with its validated config."""
    config = cls.config_type.from_params(params)
    return cls(config, [instrument_id])


def build_risk(
    position_pct: Decimal | None, risk_pct: Decimal | None, stop_pct: Decimal | None,
    max_drawdown_pct: Decimal | None, max_position_notional: Decimal | None,
) -> RiskEngine:
    """Choose the sizing policy and the rules the flags switch on (no flag, no rule)."""
    if (risk_pct is None) != (stop_pct is None):
        raise InvalidValue("--risk-pct and --stop-pct go together")
    if risk_pct is not None and position_pct is not None:
        raise InvalidValue("use --position-pct or --risk-pct/--stop-pct, not both")
    sizer: Sizer
    if risk_pct is not None and stop_pct is not None:
        sizer = RiskPerTrade(risk_percent=risk_pct, stop_percent=stop_pct)
    else:
        sizer = PercentOfEquity(position_pct if position_pct is not None else HUNDRED)
    rules: list[RiskRule] = []
    if max_drawdown_pct is not None:
        rules.append(MaxDrawdownHalt(max_drawdown_pct / HUNDRED))
    if max_position_notional is not None:
        rules.append(MaxPositionNotional(max_position_notional))
    return RiskEngine(sizer, rules)
