"""The risk gate: sizes unsized entries, then lets every rule veto exposure-increasing orders."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from domain.commands import SubmitOrder
from domain.events import OrderDenied
from domain.orders import OrderSide
from domain.ports import PortfolioView
from risk.rules import RiskRule
from risk.sizing import PercentOfEquity, Sizer


class RiskEngine:
    """The account's gate: implements ``domain.ports.RiskGate``.

    Orders that reduce exposure (reduce-only, or selling what is held) pass every rule, so a
    halted account can still exit. Unsized sells close the whole position.
    """

    def __init__(self, sizer: Sizer | None = None, rules: Sequence[RiskRule] = ()) -> None:
        self.sizer: Sizer = sizer or PercentOfEquity()
        self.rules = list(rules)

    def check(
        self, command: SubmitOrder, portfolio: PortfolioView, ts_event: int
    ) -> SubmitOrder | OrderDenied:
        """Return the sized command if every rule passes, else the first rule's denial."""
        held = portfolio.position_qty(command.instrument_id)
        increases = not command.reduce_only and (
            (command.side is OrderSide.BUY and held >= 0)
            or (command.side is OrderSide.SELL and held <= 0)
        )
        if not command.is_sized:
            closes = held < 0 if command.side is OrderSide.BUY else held > 0
            if not closes and (command.reduce_only or command.side is OrderSide.SELL):
                # An unsized sell means "close"; short entries must say how much.
                return self._deny(command, "nothing held to close", ts_event)
            if closes:
                command = _close_all(command, abs(held))
                increases = False
            else:
                sized = self.sizer.size(command, portfolio)
                if isinstance(sized, str):
                    return self._deny(command, sized, ts_event)
                command = sized
        if increases:
            for rule in self.rules:
                reason = rule.check(command, portfolio)
                if reason is not None:
                    return self._deny(command, reason, ts_event)
        return command

    @property
    def follows_bars(self) -> bool:
        """Return True when a rule watches bar closes."""
        return bool(self.rules)

    def on_bar_close(self, portfolio: PortfolioView, ts_event: int) -> None:
        """Let rules that follow equity see the bar close."""
        for rule in self.rules:
            rule.on_bar_close(portfolio, ts_event)

    @staticmethod
    def _deny(command: SubmitOrder, reason: str, ts_event: int) -> OrderDenied:
        return OrderDenied(client_order_id=command.client_order_id,
                           strategy_id=command.strategy_id,
                           instrument_id=command.instrument_id, reason=reason, ts_event=ts_event)


def _close_all(command: SubmitOrder, quantity: Decimal) -> SubmitOrder:
    return msgspec.structs.replace(command, quantity=quantity, reduce_only=True)
