"""Sizing policies: how much an unsized entry buys."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import msgspec

from domain.commands import Level, SubmitOrder
from domain.errors import InvalidValue
from domain.ports import PortfolioView

HUNDRED = Decimal(100)


class Sizer(Protocol):
    """Turn an unsized entry into a sized one (or say why it cannot be sized)."""

    def size(self, command: SubmitOrder, portfolio: PortfolioView) -> SubmitOrder | str:
        """Return the sized command, or the reason it cannot be sized."""
        ...


def _percent(value: Decimal, name: str, upper: Decimal = HUNDRED) -> Decimal:
    if not value.is_finite() or not 0 < value <= upper:
        raise InvalidValue(f"{name} must be in (0, {upper}], got {value}")
    return value


@dataclass(frozen=True, slots=True)
class PercentOfEquity:
    """Spend ``percent`` of equity (capped by free cash) on each entry, fees included."""

    percent: Decimal = HUNDRED

    def __post_init__(self) -> None:
        _percent(self.percent, "position percent")

    def size(self, command: SubmitOrder, portfolio: PortfolioView) -> SubmitOrder | str:
        """Size the entry as a quote amount resolved at the fill."""
        budget = min(portfolio.equity() * self.percent / HUNDRED, portfolio.cash)
        if budget <= 0:
            return "no free cash to size the entry"
        return msgspec.structs.replace(command, quote_amount=budget)


@dataclass(frozen=True, slots=True)
class RiskPerTrade:
    """Size so that a stop ``stop_percent`` below the entry loses ``risk_percent`` of equity.

    The notional is ``equity * risk / stop`` (capped by free cash, as a cash account cannot
    borrow), and the entry gets a stop-loss ``stop_percent`` below its fill unless the strategy
    attached its own, in which case its distance is used.
    """

    risk_percent: Decimal
    stop_percent: Decimal

    def __post_init__(self) -> None:
        _percent(self.risk_percent, "risk percent")
        _percent(self.stop_percent, "stop percent", upper=Decimal(99))

    def size(self, command: SubmitOrder, portfolio: PortfolioView) -> SubmitOrder | str:
        """Size the entry by risk and stop distance and attach the stop."""
        stop = self._stop_fraction(command, portfolio)
        if isinstance(stop, str):
            return stop
        equity = portfolio.equity()
        budget = min(equity * self.risk_percent / HUNDRED / stop, portfolio.cash)
        if budget <= 0:
            return "no free cash to size the entry"
        stop_loss = command.stop_loss or Level(offset=self.stop_percent / HUNDRED)
        return msgspec.structs.replace(command, quote_amount=budget, stop_loss=stop_loss)

    def _stop_fraction(self, command: SubmitOrder, portfolio: PortfolioView) -> Decimal | str:
        level = command.stop_loss
        if level is None:
            return self.stop_percent / HUNDRED
        if level.offset is not None:
            return level.offset
        last = portfolio.last_price(command.instrument_id)
        assert level.price is not None
        if last is None or level.price >= last:
            return f"stop-loss {level.price} gives no distance below the last price {last}"
        return (last - level.price) / last
