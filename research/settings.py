"""The account and cost settings every research run shares (one sweep = one settings)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import InvalidValue
from engine.backtest import BacktestConfig
from risk.gate import RiskEngine
from risk.sizing import PercentOfEquity


@dataclass(frozen=True, slots=True)
class SweepSettings:
    """Cash, costs and sizing of research backtests: all-in (100 % of equity) by default.

    Entries are sized by ``risk.sizing.PercentOfEquity(position_pct)``; no other risk rule
    applies, so a sweep measures the strategy, not the account's limits.
    """

    initial_cash: Decimal = Decimal(10_000)
    fee_bps: Decimal = Decimal(10)
    slippage_bps: Decimal = Decimal(0)
    position_pct: Decimal = Decimal(100)

    def __post_init__(self) -> None:
        # BacktestConfig, FeeModel, SlippageModel and PercentOfEquity check the rest.
        if not self.position_pct.is_finite() or not 0 < self.position_pct <= 100:
            raise InvalidValue(f"position_pct must be in (0, 100], got {self.position_pct}")
        self.backtest_config()

    def backtest_config(self) -> BacktestConfig:
        """Return the kernel's backtest settings."""
        return BacktestConfig(initial_cash=self.initial_cash, fee_bps=self.fee_bps,
                              slippage_bps=self.slippage_bps)

    def risk(self) -> RiskEngine:
        """Return a fresh risk gate: percent-of-equity sizing, no rules."""
        return RiskEngine(PercentOfEquity(self.position_pct))
