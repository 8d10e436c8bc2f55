"""Strategies may decide on exchange trades between bars; the venue fills at the next bar."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.commands import Command
from domain.instruments import InstrumentId
from domain.market import AggressorSide, Bar, Trade
from engine.clock import SimulatedClock
from engine.kernel import Kernel
from engine.models import FeeModel, SlippageModel
from engine.portfolio import Portfolio
from engine.venue import SimulatedVenue
from risk.gate import RiskEngine
from strategies.base import Strategy, StrategyConfig

IID = InstrumentId.parse("BINANCE:BTC/USDT")
MINUTE = 60_000_000_000
T0 = 1_723_075_200_000_000_000


class BuyOnBigPrint(Strategy[StrategyConfig]):
    """Buy once when a trade of at least 1 BTC prints."""

    name = "buy_on_big_print"
    fired = False

    def on_trade(self, trade: Trade) -> Sequence[Command] | None:
        if trade.size >= 100_000_000 and not self.fired:
            self.fired = True
            return [self.buy(IID, quantity=Decimal("0.5"))]
        return None


def bar(i: int, price: int) -> Bar:
    return Bar(IID, T0 + i * MINUTE, T0 + (i + 1) * MINUTE, price, price, price, price,
               1_000_000_000, 2, 8)


def trade(ts: int, size: int) -> Trade:
    return Trade(IID, ts, 6_100_000, size, AggressorSide.BUY, str(ts), 2, 8)


def test_a_trade_between_bars_leads_to_an_order_filled_at_the_next_bar() -> None:
    # Arrange
    clock = SimulatedClock()
    portfolio = Portfolio(IID.quote, Decimal(100_000))
    venue = SimulatedVenue(portfolio, FeeModel.flat(Decimal(0)), SlippageModel(Decimal(0)))
    kernel = Kernel(clock, portfolio, venue, RiskEngine(), [BuyOnBigPrint(StrategyConfig(),
                                                                          [IID])])
    kernel.on_bar(bar(0, 6_100_000))
    # Act: a small print changes nothing, a big one submits; the next bar fills it
    kernel.on_trade(trade(T0 + MINUTE + 1_000, 1_000))
    held_after_small = portfolio.position_qty(IID)
    kernel.on_trade(trade(T0 + MINUTE + 2_000, 150_000_000))
    kernel.on_trade(trade(T0 + MINUTE + 3_000, 150_000_000))  # once only
    kernel.on_bar(bar(1, 6_200_000))
    # Assert
    assert held_after_small == 0
    assert portfolio.position_qty(IID) == Decimal("0.5")
    assert [f.last_px for f in kernel.fills] == [Decimal("62000.00")]
