"""P&L from fills: average-cost positions (as the engine's portfolio books them), unrealized
P&L marked to the latest 1m close, daily P&L per strategy version and per account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.events import Liquidity, OrderFilled
from domain.instruments import InstrumentId
from domain.orders import OrderSide
from engine.portfolio import Portfolio
from tests.dbt.conftest import Warehouse
from tests.dbt.support import SCHEMA, query, resample

D = Decimal
DAY1, DAY2 = date(2024, 8, 8), date(2024, 8, 9)


def _marks(warehouse: Warehouse) -> dict[tuple[str, date], Decimal]:
    """Last 1m close of each day, from an independent resample of the trades."""
    marks = {}
    for name, trades in (("BTC", warehouse.btc_trades), ("ETH", warehouse.eth_trades)):
        for bar in resample(trades, 60):
            marks[(name, bar.open_at.date())] = bar.close
    return marks


def test_positions_follow_average_cost_as_the_engine_books_them(warehouse: Warehouse) -> None:
    # Arrange: the same fills of acct-1 through the kernel's portfolio
    btc = InstrumentId("BINANCE", "BTC", "USDT")
    portfolio = Portfolio("USDT", D(1_000_000))
    for i, (side, qty, px, fee) in enumerate((("buy", "1", "61000", "6.1"),
                                               ("buy", "1", "61200", "6.12"),
                                               ("sell", "1.5", "61500", "9.225"))):
        portfolio.apply_fill(OrderFilled(
            client_order_id=f"o{i}", venue_order_id="", trade_id=str(i), strategy_id="v1",
            instrument_id=btc, side=OrderSide(side), last_qty=D(qty), last_px=D(px),
            fee=D(fee), liquidity=Liquidity.TAKER, ts_event=i))
    engine = portfolio.positions[btc]
    mark = _marks(warehouse)[("BTC", DAY2)]

    # Act
    rows = {(r["account_id"], r["strategy_id"], r["instrument_id"]): r for r in query(
        warehouse.admin_dsn, f"select * from {SCHEMA}.fct_positions")}

    # Assert
    one = rows[("acct-1", "v1", "BINANCE:BTC/USDT")]
    assert (one["position_qty"], one["avg_px"], one["realized_pnl"]) == (
        engine.qty, engine.avg_px, engine.realized_pnl) == (D("0.5"), D(61100), D("578.555"))
    assert one["fees"] == D("21.445")
    assert one["mark_price"] == mark
    assert one["unrealized_pnl"] == D("0.5") * (mark - D(61100)) == engine.unrealized_pnl(mark)
    two = rows[("acct-2", "v1", "BINANCE:BTC/USDT")]
    assert (two["position_qty"], two["avg_px"], two["realized_pnl"]) == (
        D("0.5"), D(61400), D("-3.07"))
    # A round trip with fees in BNB: the fees stay out of USDT P&L, kept apart in the ledger
    eth = rows[("acct-2", "v2", "BINANCE:ETH/USDT")]
    assert (eth["position_qty"], eth["avg_px"], eth["realized_pnl"], eth["unrealized_pnl"],
            eth["fees"]) == (0, 0, D(20), 0, 0)
    other = query(warehouse.admin_dsn, f"select sum(fee_other_asset) from {SCHEMA}"
                  ".int_position_ledger where strategy_id = 'v2'")[0][0]
    assert other == D("0.004")


def test_daily_pnl_per_strategy_version(warehouse: Warehouse) -> None:
    # Arrange
    marks = _marks(warehouse)
    btc1, btc2 = marks[("BTC", DAY1)], marks[("BTC", DAY2)]
    eth1 = marks[("ETH", DAY1)]
    v1_day1 = D("-12.22") + 2 * (btc1 - 61100)
    v1_day2 = D("578.555") - D("3.07") + D("0.5") * (btc2 - 61100) + D("0.5") * (btc2 - 61400)
    v2_day1 = 2 * (eth1 - 2650)

    # Act
    rows = {(r["strategy_id"], r["day"]): r for r in query(
        warehouse.admin_dsn, f"select * from {SCHEMA}.fct_daily_pnl_strategies")}

    # Assert
    assert set(rows) == {("v1", DAY1), ("v1", DAY2), ("v2", DAY1), ("v2", DAY2)}
    assert rows[("v1", DAY1)]["cumulative_pnl"] == v1_day1 == rows[("v1", DAY1)]["daily_pnl"]
    assert rows[("v1", DAY2)]["cumulative_pnl"] == v1_day2
    assert rows[("v1", DAY2)]["daily_pnl"] == v1_day2 - v1_day1
    assert rows[("v1", DAY2)]["realized_pnl"] == D("578.555") - D("3.07") + D("12.22")
    assert rows[("v1", DAY2)]["fees"] == D("9.225") + D("3.07")
    assert rows[("v1", DAY2)]["open_positions"] == 2
    assert rows[("v2", DAY1)]["cumulative_pnl"] == v2_day1
    assert rows[("v2", DAY2)]["cumulative_pnl"] == 20
    assert rows[("v2", DAY2)]["daily_pnl"] == 20 - v2_day1


def test_daily_pnl_per_account_with_recorded_equity(warehouse: Warehouse) -> None:
    # Arrange
    marks = _marks(warehouse)
    btc2, eth1 = marks[("BTC", DAY2)], marks[("ETH", DAY1)]

    # Act
    rows = {(r["account_id"], r["day"]): r for r in query(
        warehouse.admin_dsn, f"select * from {SCHEMA}.fct_daily_pnl_accounts")}

    # Assert
    assert rows[("acct-1", DAY1)]["recorded_equity"] == 100000
    assert rows[("acct-1", DAY2)]["recorded_equity"] == 100250
    assert rows[("acct-2", DAY1)]["recorded_equity"] is None
    # acct-2 holds ETH on day 1 (v2) and BTC from day 2 (v1)
    assert rows[("acct-2", DAY1)]["cumulative_pnl"] == 2 * (eth1 - 2650)
    assert rows[("acct-2", DAY2)]["cumulative_pnl"] == D(20) - D("3.07") + D("0.5") * (
        btc2 - 61400)
