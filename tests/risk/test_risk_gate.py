"""The risk gate: sizing policies, rules, and their effect on a real backtest."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.files.candles_csv import instrument_from_filename, read_candles_csv
from domain.commands import Level, SubmitOrder
from domain.errors import InvalidValue
from domain.events import OrderDenied
from domain.instruments import InstrumentId
from domain.orders import OrderSide, OrderType
from engine.backtest import BacktestConfig, run_backtest
from risk.gate import RiskEngine
from risk.rules import MaxDrawdownHalt, MaxPositionNotional
from risk.sizing import PercentOfEquity, RiskPerTrade
from strategies.ma_crossover import MACrossConfig, MACrossover

D = Decimal
IID = InstrumentId.parse("BINANCE:BTC/USDT")
TS = 1_700_000_000 * 10**9
CASH, FLAT, PRICE = D(10_000), D(0), D(100)
CANDLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "candles"


class Account:
    """A plain implementation of domain.ports.PortfolioView for the tests (one instrument)."""

    def __init__(self, cash: Decimal = CASH, held: Decimal = FLAT,
                 price: Decimal | None = PRICE, peak_equity: float = 10_000.0,
                 last_equity: float = 10_000.0) -> None:
        self.cash = cash
        self.held = held
        self.price = price
        self.peak_equity = peak_equity
        self.last_equity = last_equity

    def equity(self) -> Decimal:
        return self.cash + self.held * (self.price or D(0))

    def position_qty(self, instrument_id: InstrumentId) -> Decimal:
        return self.held if instrument_id == IID else D(0)

    def last_price(self, instrument_id: InstrumentId) -> Decimal | None:
        return self.price if instrument_id == IID else None


def _order(side=OrderSide.BUY, **fields) -> SubmitOrder:
    return SubmitOrder(client_order_id="c-1", strategy_id="s", instrument_id=IID, side=side,
                       **fields)


# -- sizing --------------------------------------------------------------------------------
def test_default_sizing_spends_all_equity_as_a_quote_amount():
    # Act
    verdict = RiskEngine().check(_order(), Account(), TS)

    # Assert
    assert isinstance(verdict, SubmitOrder)
    assert verdict.quote_amount == D(10_000)
    assert verdict.quantity is None
    assert verdict.type is OrderType.MARKET


@pytest.mark.parametrize(("percent", "cash", "held", "expected"), [
    (D(25), D(10_000), D(0), D(2_500)),          # pct * equity
    (D(50), D(3_000), D(70), D(3_000)),          # equity 10_000: 50% = 5_000, capped by cash
    (D(100), D(4_000), D(60), D(4_000)),         # cannot spend what is held
    (D("12.5"), D(8_000), D(20), D(1_250)),      # exact decimal maths
])
def test_percent_of_equity_sizes_min_of_pct_equity_and_cash(percent, cash, held, expected):
    # Arrange
    gate = RiskEngine(PercentOfEquity(percent))
    account = Account(cash=cash, held=held)

    # Act
    verdict = gate.check(_order(), account, TS)

    # Assert
    assert isinstance(verdict, SubmitOrder)
    assert verdict.quote_amount == expected


def test_percent_of_equity_with_no_cash_denies():
    verdict = RiskEngine().check(_order(), Account(cash=D(0), held=D(100)), TS)

    assert isinstance(verdict, OrderDenied)
    assert "no free cash" in verdict.reason
    assert verdict.ts_event == TS
    assert verdict.client_order_id == "c-1"


@pytest.mark.parametrize("percent", [D(0), D(-1), D("100.01"), D("NaN")])
def test_percent_of_equity_must_be_within_0_and_100(percent):
    with pytest.raises(InvalidValue):
        PercentOfEquity(percent)


def test_a_sized_order_passes_unchanged():
    order = _order(quantity=D("0.5"))

    assert RiskEngine().check(order, Account(), TS) == order


def test_risk_per_trade_sizes_by_risk_over_stop_and_attaches_the_stop():
    # Arrange: risk 1% of 10_000 with a 4% stop -> 100 / 0.04 = 2_500 notional
    gate = RiskEngine(RiskPerTrade(risk_percent=D(1), stop_percent=D(4)))

    # Act
    verdict = gate.check(_order(), Account(), TS)

    # Assert
    assert isinstance(verdict, SubmitOrder)
    assert verdict.quote_amount == D(2_500)
    assert verdict.stop_loss == Level(offset=D("0.04"))
    assert verdict.take_profit is None


def test_risk_per_trade_is_capped_by_cash():
    # 2% risk with a 1% stop would buy 2x equity; a cash account cannot borrow.
    gate = RiskEngine(RiskPerTrade(risk_percent=D(2), stop_percent=D(1)))

    verdict = gate.check(_order(), Account(cash=D(6_000), held=D(40)), TS)

    assert isinstance(verdict, SubmitOrder)
    assert verdict.quote_amount == D(6_000)
    assert verdict.stop_loss == Level(offset=D("0.01"))


def test_risk_per_trade_uses_the_strategys_own_stop_offset():
    gate = RiskEngine(RiskPerTrade(risk_percent=D(1), stop_percent=D(4)))

    verdict = gate.check(_order(stop_loss=Level(offset=D("0.05"))), Account(), TS)

    assert isinstance(verdict, SubmitOrder)
    assert verdict.quote_amount == D(2_000)  # 100 / 0.05
    assert verdict.stop_loss == Level(offset=D("0.05"))


def test_risk_per_trade_uses_the_distance_to_an_absolute_stop():
    gate = RiskEngine(RiskPerTrade(risk_percent=D(1), stop_percent=D(4)))

    verdict = gate.check(_order(stop_loss=Level(price=D(80))), Account(price=D(100)), TS)

    assert isinstance(verdict, SubmitOrder)
    assert verdict.quote_amount == D(500)  # 100 / 0.20
    assert verdict.stop_loss == Level(price=D(80))


def test_risk_per_trade_denies_a_stop_above_the_price():
    gate = RiskEngine(RiskPerTrade(risk_percent=D(1), stop_percent=D(4)))

    verdict = gate.check(_order(stop_loss=Level(price=D(120))), Account(price=D(100)), TS)

    assert isinstance(verdict, OrderDenied)
    assert "no distance" in verdict.reason


@pytest.mark.parametrize(("risk", "stop"), [(D(0), D(1)), (D(1), D(0)), (D(1), D(100)),
                                            (D("NaN"), D(1))])
def test_risk_per_trade_validates_its_percentages(risk, stop):
    with pytest.raises(InvalidValue):
        RiskPerTrade(risk_percent=risk, stop_percent=stop)


# -- closing -------------------------------------------------------------------------------
def test_unsized_sell_when_flat_is_denied():
    # "Unsized sells close the whole position": flat, there is nothing to close. It must not be
    # sized by the entry policy into a quote-amount sell of the whole equity (a spot short).
    verdict = RiskEngine().check(_order(OrderSide.SELL), Account(held=D(0)), TS)

    assert isinstance(verdict, OrderDenied)
    assert "nothing held" in verdict.reason


def test_unsized_reduce_only_sell_when_flat_is_denied():
    verdict = RiskEngine().check(_order(OrderSide.SELL, reduce_only=True), Account(held=D(0)), TS)

    assert isinstance(verdict, OrderDenied)
    assert "nothing held" in verdict.reason


def test_unsized_sell_closes_the_whole_position_reduce_only():
    verdict = RiskEngine().check(_order(OrderSide.SELL), Account(held=D("1.25")), TS)

    assert isinstance(verdict, SubmitOrder)
    assert verdict.quantity == D("1.25")
    assert verdict.quote_amount is None
    assert verdict.reduce_only


# -- MaxDrawdownHalt -----------------------------------------------------------------------
def test_drawdown_halt_does_not_latch_below_the_limit():
    rule = MaxDrawdownHalt(D("0.1"))
    gate = RiskEngine(rules=[rule])

    gate.on_bar_close(Account(peak_equity=10_000.0, last_equity=9_100.0), TS)

    assert rule.halted_at is None
    assert isinstance(gate.check(_order(), Account(), TS), SubmitOrder)


def test_drawdown_halt_latches_and_denies_buys_but_lets_exits_pass():
    # Arrange
    rule = MaxDrawdownHalt(D("0.1"))
    gate = RiskEngine(rules=[rule])
    gate.on_bar_close(Account(peak_equity=10_000.0, last_equity=8_800.0), TS)

    # Act: equity has recovered, but the halt latches
    gate.on_bar_close(Account(peak_equity=10_000.0, last_equity=10_500.0), TS + 1)
    buy = gate.check(_order(), Account(), TS + 2)
    sized_buy = gate.check(_order(quantity=D(1)), Account(), TS + 2)
    reduce_only_sell = gate.check(_order(OrderSide.SELL, quantity=D(1), reduce_only=True),
                                  Account(held=D(1)), TS + 2)
    unsized_exit = gate.check(_order(OrderSide.SELL), Account(held=D(2)), TS + 2)

    # Assert
    assert rule.halted_at == TS
    assert isinstance(buy, OrderDenied)
    assert "drawdown" in buy.reason
    assert "12.00%" in buy.reason
    assert "10.00% limit" in buy.reason
    assert isinstance(sized_buy, OrderDenied)
    assert isinstance(reduce_only_sell, SubmitOrder)
    assert isinstance(unsized_exit, SubmitOrder)
    assert unsized_exit.quantity == D(2)


def test_drawdown_halt_reset_lifts_the_halt():
    rule = MaxDrawdownHalt(D("0.05"))
    gate = RiskEngine(rules=[rule])
    gate.on_bar_close(Account(peak_equity=100.0, last_equity=90.0), TS)

    rule.reset()

    assert isinstance(gate.check(_order(), Account(), TS), SubmitOrder)


@pytest.mark.parametrize(("limit", "peak", "last"), [
    (D("0.1"), 10_000.0, 9_000.0),
    (D("0.2"), 10_000.0, 8_000.0),
    (D("0.1"), 12_000.0, 10_800.0),
    (D("0.25"), 10_000.0, 7_500.0),
])
def test_drawdown_halt_latches_when_the_drawdown_reaches_the_limit_exactly(limit, peak, last):
    # Equity exactly max_fraction below its peak has reached the limit: the halt latches.
    rule = MaxDrawdownHalt(limit)

    rule.on_bar_close(Account(peak_equity=peak, last_equity=last), TS)

    assert rule.halted_at == TS


@pytest.mark.parametrize("fraction", [D(0), D(1), D("1.5"), D(-1), D("NaN")])
def test_drawdown_halt_needs_a_fraction(fraction):
    with pytest.raises(InvalidValue):
        MaxDrawdownHalt(fraction)


# -- MaxPositionNotional -------------------------------------------------------------------
def test_position_cap_denies_an_entry_over_the_cap():
    # Arrange: default sizing buys 10_000 of quote; the cap is 5_000
    gate = RiskEngine(rules=[MaxPositionNotional(D(5_000))])

    # Act
    verdict = gate.check(_order(), Account(), TS)

    # Assert
    assert isinstance(verdict, OrderDenied)
    assert "would exceed the cap 5000" in verdict.reason


def test_position_cap_counts_what_is_held():
    # Arrange: 30 held at 100 = 3_000, plus 25 more = 2_500 -> 5_500 > 5_000
    gate = RiskEngine(rules=[MaxPositionNotional(D(5_000))])
    account = Account(cash=D(7_000), held=D(30))

    # Act
    over = gate.check(_order(quantity=D(25)), account, TS)
    under = gate.check(_order(quantity=D(20)), account, TS)

    # Assert
    assert isinstance(over, OrderDenied)
    assert "5500.00" in over.reason
    assert isinstance(under, SubmitOrder)


def test_position_cap_values_limit_orders_at_their_price():
    gate = RiskEngine(rules=[MaxPositionNotional(D(1_000))])

    verdict = gate.check(_order(type=OrderType.LIMIT, quantity=D(10), price=D(101)),
                         Account(), TS)

    assert isinstance(verdict, OrderDenied)


def test_position_cap_denies_when_it_cannot_value_the_order():
    gate = RiskEngine(rules=[MaxPositionNotional(D(1_000))])

    verdict = gate.check(_order(quantity=D(1)), Account(price=None), TS)

    assert isinstance(verdict, OrderDenied)
    assert "no price seen yet" in verdict.reason


def test_position_cap_does_not_block_exits():
    gate = RiskEngine(rules=[MaxPositionNotional(D(1))])

    verdict = gate.check(_order(OrderSide.SELL, quantity=D(50)), Account(held=D(50)), TS)

    assert isinstance(verdict, SubmitOrder)


def test_first_denying_rule_wins():
    rule = MaxDrawdownHalt(D("0.1"))
    gate = RiskEngine(rules=[rule, MaxPositionNotional(D(1))])
    gate.on_bar_close(Account(peak_equity=100.0, last_equity=50.0), TS)

    verdict = gate.check(_order(), Account(), TS)

    assert isinstance(verdict, OrderDenied)
    assert "drawdown" in verdict.reason


# -- end to end ----------------------------------------------------------------------------
def _candles():
    path = CANDLES / "binance_BTC-USDT_1h.csv"
    assert path.is_file(), f"shared candle file missing: {path}"
    instrument_id, _ = instrument_from_filename(path)
    assert instrument_id is not None
    return read_candles_csv(path, instrument_id)


def _run(series, gate):
    strategy = MACrossover(MACrossConfig(fast=5, slow=20), [series.instrument_id])
    return run_backtest(series, strategy, gate, BacktestConfig())


def test_backtest_rules_are_only_active_when_configured():
    # Arrange
    series = _candles()

    # Act
    free = _run(series, RiskEngine())
    loose = _run(series, RiskEngine(rules=[MaxPositionNotional(D(10**9))]))
    halt = MaxDrawdownHalt(D("0.02"))
    halted = _run(series, RiskEngine(rules=[halt]))

    # Assert: no rule, no denial
    assert free.denials == []
    assert loose.denials == []
    assert loose.metrics == free.metrics
    assert free.metrics.n_trades >= 3
    # a tight drawdown halt denies entries and so trades less
    assert halt.halted_at is not None
    assert halted.denials
    assert all("drawdown" in denial.reason for denial in halted.denials)
    assert all(denial.ts_event >= halt.halted_at for denial in halted.denials)
    assert halted.metrics.n_trades < free.metrics.n_trades
    # after the halt only exits fill
    assert all(fill.side is OrderSide.SELL for fill in halted.fills
               if fill.ts_event > halt.halted_at)
    assert not any(trip.exit_ts is None for trip in halted.round_trips)
