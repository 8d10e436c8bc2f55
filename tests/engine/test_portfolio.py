"""Portfolio accounting with exact Decimals: cash, positions, realized P&L, fees, round trips."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.events import Liquidity, OrderFilled
from domain.fixed import parse_raw
from domain.instruments import InstrumentId
from domain.market import Bar
from domain.orders import OrderSide
from engine.portfolio import Portfolio

IID = InstrumentId("SIM", "BTC", "USDT")
HOUR = 3_600 * 1_000_000_000
D = Decimal


def fill(side: OrderSide, qty: str, px: str, fee: str, ts: int, cid: str = "C") -> OrderFilled:
    return OrderFilled(
        client_order_id=cid, venue_order_id="V", trade_id=f"T{ts}", strategy_id="S",
        instrument_id=IID, side=side, last_qty=D(qty), last_px=D(px), fee=D(fee),
        liquidity=Liquidity.TAKER, ts_event=ts,
    )


def close_at(price: str, ts: int = 0) -> Bar:
    raw = parse_raw(price, 2)
    return Bar(IID, ts, ts + HOUR, raw, raw, raw, raw, 1, 2, 3)


def test_buy_then_partial_sell_then_full_sell() -> None:
    portfolio = Portfolio("USDT", D(10_000))

    portfolio.apply_fill(fill(OrderSide.BUY, "2", "100", "0.2", ts=1 * HOUR))
    assert portfolio.cash == D("9799.8")
    assert portfolio.position_qty(IID) == D(2)
    assert portfolio.positions[IID].avg_px == D(100)
    assert portfolio.positions[IID].realized_pnl == D("-0.2")
    assert portfolio.has_position

    portfolio.apply_fill(fill(OrderSide.SELL, "0.5", "110", "0.055", ts=2 * HOUR))
    position = portfolio.positions[IID]
    assert portfolio.cash == D("9854.745")  # 9799.8 + 55 - 0.055
    assert position.qty == D("1.5")
    assert position.avg_px == D(100)  # a sell leaves the average entry alone
    assert position.realized_pnl == D("4.745")  # 0.5 * 10 - 0.2 - 0.055
    (trip,) = portfolio.round_trips
    assert not trip.is_closed
    assert trip.exit_price == D(110)
    # Marked at 120: the held 1.5 counts at 120 and no exit fee is charged on it.
    assert trip.pnl(mark=D(120)) == D("34.745")  # 55 + 180 - 200 - 0.255
    assert position.unrealized_pnl(D(120)) == D(30)

    portfolio.mark(close_at("120", ts=2 * HOUR))
    assert portfolio.equity() == D("10034.745")
    assert portfolio.last_price(IID) == D(120)

    portfolio.apply_fill(fill(OrderSide.SELL, "1.5", "90", "0.135", ts=3 * HOUR))
    assert portfolio.cash == D("9989.61")  # 9854.745 + 135 - 0.135
    assert position.qty == 0
    assert position.avg_px == 0
    assert position.realized_pnl == D("-10.39")  # 4.745 - 15 - 0.135
    assert position.fees == D("0.39")
    assert portfolio.fees_paid == D("0.39")
    assert not portfolio.has_position
    assert trip.is_closed
    assert (trip.entry_ts, trip.exit_ts) == (1 * HOUR, 3 * HOUR)
    assert (trip.entry_qty, trip.exit_qty) == (D(2), D(2))
    assert trip.entry_price == D(100)
    assert trip.exit_price == D(95)  # (55 + 135) / 2
    assert trip.fees == D("0.39")
    assert trip.pnl() == D("-10.39") == position.realized_pnl
    assert portfolio.equity() == D("9989.61") == portfolio.initial_cash + position.realized_pnl


def test_two_entries_average_and_a_second_round_trip_starts_fresh() -> None:
    portfolio = Portfolio("USDT", D(10_000))

    portfolio.apply_fill(fill(OrderSide.BUY, "1", "100", "0.1", ts=1))
    portfolio.apply_fill(fill(OrderSide.BUY, "3", "104", "0.312", ts=2))
    position = portfolio.positions[IID]
    assert position.qty == D(4)
    assert position.avg_px == D(103)  # (100 + 312) / 4
    assert portfolio.cash == D("9587.588")  # 10000 - 100.1 - 312.312

    portfolio.apply_fill(fill(OrderSide.SELL, "4", "105", "0.42", ts=3))
    portfolio.apply_fill(fill(OrderSide.BUY, "1", "50", "0.05", ts=4))

    first, second = portfolio.round_trips
    assert first.entry_price == D(103)
    assert first.exit_price == D(105)
    assert first.pnl() == D("7.168")  # 420 - 412 - (0.1 + 0.312 + 0.42)
    assert first.is_closed
    assert (second.entry_ts, second.entry_qty, second.entry_price) == (4, D(1), D(50))
    assert second.exit_price is None
    assert not second.is_closed
    assert second.pnl(mark=D(60)) == D("9.95")  # 60 - 50 - 0.05, no exit fee
    assert position.realized_pnl == D("7.118")  # 7.168 - 0.05 fee of the new entry
    assert portfolio.fees_paid == D("0.882")


def test_a_single_fill_reports_its_exact_price() -> None:
    # qty * px / qty is not px at 28 digits for this pair: the trip must not divide it out.
    qty, px = "0.1612913631700849682901180008", "6199.96"
    assert D(qty) * D(px) / D(qty) != D(px)
    portfolio = Portfolio("USDT", D(10_000))

    portfolio.apply_fill(fill(OrderSide.BUY, qty, px, "0", ts=1))
    portfolio.apply_fill(fill(OrderSide.SELL, qty, px, "0", ts=2))

    (trip,) = portfolio.round_trips
    assert trip.entry_price == D(px)
    assert trip.exit_price == D(px)


def test_equity_is_cash_plus_positions_at_their_last_close_exactly() -> None:
    portfolio = Portfolio("USDT", D(1_000))
    portfolio.apply_fill(fill(OrderSide.BUY, "0.3", "100.01", "0.030003", ts=0))

    float_equity = portfolio.mark(close_at("101.37"))

    exact = D(1_000) - D("30.003") - D("0.030003") + D("0.3") * D("101.37")
    assert portfolio.equity() == exact == D("1000.377997")
    assert float_equity == pytest.approx(float(exact), rel=1e-15)
    assert portfolio.last_equity == float_equity
    assert portfolio.peak_equity == float_equity  # above the initial 1000
