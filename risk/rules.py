"""Risk rules: each looks at an exposure-increasing order and may deny it with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from domain.commands import SubmitOrder
from domain.errors import InvalidValue
from domain.ports import PortfolioView


class RiskRule(Protocol):
    """One rule of the gate."""

    def check(self, command: SubmitOrder, portfolio: PortfolioView) -> str | None:
        """Return why the order must be denied, or None to let it pass."""
        ...

    def on_bar_close(self, portfolio: PortfolioView, ts_event: int) -> None:
        """Follow the account bar by bar (most rules need not)."""
        ...


@dataclass(slots=True)
class MaxDrawdownHalt:
    """Halt new exposure once equity falls ``max_fraction`` below its peak; exits still pass.

    The halt latches: recovering equity does not lift it (an admin clears it with ``reset``).
    """

    max_fraction: Decimal
    halted_at: int | None = field(default=None, init=False)
    drawdown_at_halt: float = field(default=0.0, init=False)
    _limit: float = field(default=0.0, init=False, repr=False)
    _floor: float = field(default=1.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.max_fraction.is_finite() or not 0 < self.max_fraction < 1:
            raise InvalidValue(
                f"max drawdown must be a fraction in (0, 1), got {self.max_fraction}")
        self._limit = float(self.max_fraction)
        self._floor = float(1 - self.max_fraction)

    def on_bar_close(self, portfolio: PortfolioView, ts_event: int) -> None:
        """Latch the halt when the bar-close drawdown reaches the limit."""
        if self.halted_at is not None:
            return
        peak, equity = portfolio.peak_equity, portfolio.last_equity
        # equity <= peak * (1 - limit) rather than 1 - equity/peak >= limit: the division's
        # rounding would miss a drawdown of exactly the limit.
        if peak > 0 and equity <= peak * self._floor:
            self.halted_at = ts_event
            self.drawdown_at_halt = 1 - equity / peak

    def check(self, command: SubmitOrder, portfolio: PortfolioView) -> str | None:
        """Deny new exposure while halted."""
        if self.halted_at is None:
            return None
        return (f"trading halted: drawdown {self.drawdown_at_halt:.2%} reached the "
                f"{self._limit:.2%} limit")

    def reset(self) -> None:
        """Lift the halt (an admin decision)."""
        self.halted_at = None
        self.drawdown_at_halt = 0.0


@dataclass(frozen=True, slots=True)
class MaxPositionNotional:
    """Deny an order that would lift one instrument's position above ``max_notional``."""

    max_notional: Decimal

    def __post_init__(self) -> None:
        if not self.max_notional.is_finite() or self.max_notional <= 0:
            raise InvalidValue(f"max notional must be positive, got {self.max_notional}")

    def on_bar_close(self, portfolio: PortfolioView, ts_event: int) -> None:
        """Nothing to follow."""

    def check(self, command: SubmitOrder, portfolio: PortfolioView) -> str | None:
        """Compare held plus ordered notional with the cap."""
        last = portfolio.last_price(command.instrument_id)
        held = portfolio.position_qty(command.instrument_id)
        reference = command.price or command.trigger_price or last
        if command.quote_amount is not None:
            ordered = command.quote_amount
        elif command.quantity is not None and reference is not None:
            ordered = command.quantity * reference
        else:
            return "cannot value the order: no price seen yet"
        total = ordered + (abs(held) * last if last is not None else Decimal(0))
        if total > self.max_notional:
            return (f"position notional {total:.2f} would exceed the cap "
                    f"{self.max_notional} in {command.instrument_id.quote}")
        return None
