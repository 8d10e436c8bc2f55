"""Table tests of the simulated venue's bar fill rules (engine/venue.py, module docstring).

Every row runs a real ``Kernel`` + ``SimulatedVenue`` + ``Portfolio`` + ``RiskEngine`` over a
few hand-made bars, with a scripted strategy that returns given commands on given bar indices,
and compares every fill, cancel and trigger (and which orders are still working) with the row.
Bars are 1h, price precision 2; ``bar index`` in an expectation is the bar whose open the event
is stamped with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.commands import Command, Level, SubmitOrder
from domain.events import OrderCanceled, OrderFilled, OrderTriggered
from domain.fixed import parse_raw
from domain.instruments import InstrumentId
from domain.market import Bar
from domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from domain.ports import StrategyContext
from engine.bus import MessageBus
from engine.clock import SimulatedClock
from engine.kernel import TOPIC_ORDER_EVENTS, Kernel
from engine.models import FeeModel, SlippageModel
from engine.portfolio import Portfolio
from engine.venue import SimulatedVenue
from risk.gate import RiskEngine

IID = InstrumentId("SIM", "BTC", "USDT")
HOUR = 3_600 * 1_000_000_000
T0 = 1_700_000_000 * 1_000_000_000
PRICE_DP = 2
BUY, SELL = OrderSide.BUY, OrderSide.SELL
BPS = Decimal(10_000)

OHLC = tuple[str, str, str, str]


# -- scenario plumbing -------------------------------------------------------------------------
class ScriptedStrategy:
    """A StrategyPort that returns the scripted commands on the given bar indices."""

    strategy_id = "S"
    instrument_ids = (IID,)

    def __init__(self, script: Mapping[int, Sequence[Command]]) -> None:
        self.script = script
        self.bar_index = -1
        self.fills_seen: list[OrderFilled] = []

    def on_start(self, context: StrategyContext) -> None:
        self.bar_index = -1

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        self.bar_index += 1
        return list(self.script.get(self.bar_index, ()))

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills_seen.append(event)


def make_bar(index: int, ohlc: OHLC) -> Bar:
    o, h, lo, c = (parse_raw(text, PRICE_DP) for text in ohlc)
    ts = T0 + index * HOUR
    return Bar.checked(IID, ts, ts + HOUR, o, h, lo, c, 1_000, PRICE_DP, 3)


DECIMAL_FIELDS = ("quantity", "quote_amount", "price", "trigger_price")


def submit(cid: str, side: OrderSide, **fields: object) -> SubmitOrder:
    for name in DECIMAL_FIELDS:
        if isinstance(fields.get(name), str):
            fields[name] = Decimal(fields[name])  # type: ignore[arg-type]
    return SubmitOrder(client_order_id=cid, strategy_id="S", instrument_id=IID, side=side,
                       **fields)  # type: ignore[arg-type]


def market(cid: str, side: OrderSide, qty: str | None = None, **fields: object) -> SubmitOrder:
    return submit(cid, side, type=OrderType.MARKET, quantity=qty, **fields)


def limit(cid: str, side: OrderSide, qty: str, price: str, **fields: object) -> SubmitOrder:
    return submit(cid, side, type=OrderType.LIMIT, quantity=qty, price=price, **fields)


def stop(cid: str, side: OrderSide, qty: str, trigger: str) -> SubmitOrder:
    return submit(cid, side, type=OrderType.STOP_MARKET, quantity=qty, trigger_price=trigger)


def stop_limit(cid: str, side: OrderSide, qty: str, trigger: str, price: str) -> SubmitOrder:
    return submit(cid, side, type=OrderType.STOP_LIMIT, quantity=qty, trigger_price=trigger,
                  price=price)


@dataclass(frozen=True)
class Fill:
    cid: str
    side: OrderSide
    qty: Decimal | str
    price: Decimal | str
    bar: int
    fee: Decimal | str | None = None  # None: checked as qty * price * fee rate


@dataclass(frozen=True)
class Cancel:
    cid: str
    reason: str  # the start of the venue's reason
    bar: int


@dataclass(frozen=True)
class Case:
    bars: Sequence[OHLC]
    script: Mapping[int, Sequence[Command]]
    fills: Sequence[Fill] = ()
    cancels: Sequence[Cancel] = ()
    working: Sequence[str] = ()
    triggers: Sequence[tuple[str, int]] | None = None  # None: not checked
    fee_bps: str = "10"
    slippage_bps: str = "0"
    cash: str = "10000"


@dataclass
class Outcome:
    kernel: Kernel
    venue: SimulatedVenue
    portfolio: Portfolio
    strategy: ScriptedStrategy
    bar_at: dict[int, int]
    events: list[object] = field(default_factory=list)

    def index(self, ts: int) -> int:
        return self.bar_at[ts]


def simulate(case: Case) -> Outcome:
    bars = [make_bar(i, ohlc) for i, ohlc in enumerate(case.bars)]
    portfolio = Portfolio("USDT", Decimal(case.cash))
    venue = SimulatedVenue(portfolio, FeeModel.flat(Decimal(case.fee_bps)),
                           SlippageModel(Decimal(case.slippage_bps)))
    strategy = ScriptedStrategy(case.script)
    clock = SimulatedClock(bars[0].ts_open)
    bus = MessageBus()
    kernel = Kernel(clock, portfolio, venue, RiskEngine(), [strategy], bus)
    outcome = Outcome(kernel, venue, portfolio, strategy,
                      {bar.ts_open: i for i, bar in enumerate(bars)})
    bus.subscribe(TOPIC_ORDER_EVENTS, outcome.events.append)
    for bar in bars:
        clock.set_time(bar.ts_close)
        kernel.on_bar(bar)
    return outcome


def check(case: Case) -> Outcome:
    """Run the case and assert its fills, cancels, triggers and still-working orders."""
    out = simulate(case)
    rate = Decimal(case.fee_bps) / BPS
    fills = [e for e in out.events if isinstance(e, OrderFilled)]
    actual_fills = [(f.client_order_id, f.side, f.last_qty, f.last_px, out.index(f.ts_event))
                    for f in fills]
    expected_fills = [(x.cid, x.side, Decimal(x.qty), Decimal(x.price), x.bar)
                      for x in case.fills]
    assert actual_fills == expected_fills
    for fill, expected in zip(fills, case.fills, strict=True):
        fee = Decimal(expected.fee) if expected.fee is not None else (
            fill.last_qty * fill.last_px * rate)
        assert fill.fee == fee, f"{fill.client_order_id}: fee {fill.fee} != {fee}"
    assert out.kernel.fills == fills
    assert out.strategy.fills_seen == fills

    cancels = [e for e in out.events if isinstance(e, OrderCanceled)]
    assert [(c.client_order_id, out.index(c.ts_event)) for c in cancels] == [
        (x.cid, x.bar) for x in case.cancels]
    for event, expected in zip(cancels, case.cancels, strict=True):
        assert event.reason.startswith(expected.reason), (
            f"{event.client_order_id}: reason {event.reason!r} does not start with "
            f"{expected.reason!r}")
        assert out.kernel.orders[event.client_order_id].status is OrderStatus.CANCELED

    if case.triggers is not None:
        triggers = [(e.client_order_id, out.index(e.ts_event))
                    for e in out.events if isinstance(e, OrderTriggered)]
        assert triggers == list(case.triggers)

    still_working = sorted(cid for cid, order in out.kernel.orders.items() if order.is_working)
    assert still_working == sorted(case.working), "orders left working: " + ", ".join(
        repr(out.kernel.orders[cid]) for cid in still_working)
    # The kernel's view and the venue's book agree on what is still working.
    held_by_venue = sorted(o.client_order_id for o in out.venue.working_orders())
    assert held_by_venue == still_working
    return out


# Bars that a row does not care about.
FLAT_100: OHLC = ("100", "100.5", "99.5", "100")
# A long of 1 BTC bought at bar 1's open (100 + any slippage), for the sell rows.
LONG = {0: [market("B", BUY, "1")]}


def with_long(later: Mapping[int, Sequence[Command]]) -> dict[int, list[Command]]:
    script: dict[int, list[Command]] = {k: list(v) for k, v in LONG.items()}
    for index, commands in later.items():
        script.setdefault(index, []).extend(commands)
    return script


# -- market orders -----------------------------------------------------------------------------
MARKET_CASES = [
    pytest.param(Case(
        bars=[("100", "101", "99", "100.50"), ("102", "103", "101", "102")],
        script={0: [market("E", BUY, "1")]},
        fills=[Fill("E", BUY, "1", "102.102", bar=1, fee="0.102102")],
        slippage_bps="10",
    ), id="buy-fills-at-next-bar-open-plus-slippage-fee-on-notional"),
    pytest.param(Case(
        bars=[("100", "101", "99", "100.50"), ("102", "103", "101", "102"),
              ("104", "105", "103", "104")],
        script={0: [market("E", BUY, "1")], 1: [market("X", SELL, "1")]},
        fills=[Fill("E", BUY, "1", "102.102", bar=1, fee="0.102102"),
               Fill("X", SELL, "1", "103.896", bar=2, fee="0.103896")],
        slippage_bps="10",
    ), id="sell-fills-at-next-bar-open-minus-slippage"),
    pytest.param(Case(
        bars=[("100", "101", "99", "100.50"), ("102", "103", "101", "102")],
        script={0: [market("E", BUY, "2")]},
        fills=[Fill("E", BUY, "2", "102", bar=1, fee="0.204")],
    ), id="no-slippage-fills-at-exact-open"),
    pytest.param(Case(
        bars=[("100", "101", "99", "100.50"), ("102", "103", "101", "102")],
        script={1: [market("E", BUY, "1")]},
        working=["E"],
    ), id="not-filled-in-the-bar-it-was-decided-on"),
]


@pytest.mark.parametrize("case", MARKET_CASES)
def test_market_orders_fill_at_the_next_bar_open(case: Case) -> None:
    check(case)


# -- limit orders ------------------------------------------------------------------------------
LIMIT_CASES = [
    pytest.param(Case(
        bars=[FLAT_100, ("100", "100.5", "98.5", "99.5")],
        script={0: [limit("L", BUY, "1", "99")]},
        fills=[Fill("L", BUY, "1", "99", bar=1)],
        slippage_bps="10",
    ), id="buy-traded-through-fills-at-limit-without-slippage"),
    pytest.param(Case(
        bars=[FLAT_100, ("98", "98.5", "97", "98")],
        script={0: [limit("L", BUY, "1", "99")]},
        fills=[Fill("L", BUY, "1", "98", bar=1)],
        slippage_bps="10",
    ), id="buy-bar-opens-through-fills-at-open"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "100.5", "99", "99.5")],
        script={0: [limit("L", BUY, "1", "99")]},
        working=["L"],
    ), id="buy-low-only-touches-limit-no-fill"),
    pytest.param(Case(
        bars=[("100", "100.5", "90", "100"), ("100", "101", "99.5", "100")],
        script={0: [limit("L", BUY, "1", "99")]},
        working=["L"],
    ), id="buy-decision-bar-trading-through-does-not-count"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "100.5", "99", "99.5")],
        script={0: [limit("L", BUY, "1", "99.005")]},
        fills=[Fill("L", BUY, "1", "99.005", bar=1)],
    ), id="buy-limit-between-ticks-traded-through-by-the-tick-below"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("100", "101.5", "99.5", "100")],
        script=with_long({1: [limit("L", SELL, "1", "101")]}),
        fills=[Fill("B", BUY, "1", "100.1", bar=1), Fill("L", SELL, "1", "101", bar=2)],
        slippage_bps="10",
    ), id="sell-traded-through-fills-at-limit-without-slippage"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("102", "102.5", "101.5", "102")],
        script=with_long({1: [limit("L", SELL, "1", "101")]}),
        fills=[Fill("B", BUY, "1", "100", bar=1), Fill("L", SELL, "1", "102", bar=2)],
    ), id="sell-bar-opens-through-fills-at-open"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("100", "101", "99.5", "100")],
        script=with_long({1: [limit("L", SELL, "1", "101")]}),
        fills=[Fill("B", BUY, "1", "100", bar=1)],
        working=["L"],
    ), id="sell-high-only-touches-limit-no-fill"),
]


@pytest.mark.parametrize("case", LIMIT_CASES)
def test_limit_orders_fill_when_traded_through(case: Case) -> None:
    check(case)


# -- stop orders -------------------------------------------------------------------------------
STOP_CASES = [
    pytest.param(Case(
        bars=[FLAT_100, ("100", "105", "99", "104")],
        script={0: [stop("P", BUY, "1", "105")]},
        fills=[Fill("P", BUY, "1", "105.105", bar=1)],
        slippage_bps="10",
    ), id="buy-high-touches-trigger-fills-at-trigger-plus-slippage"),
    pytest.param(Case(
        bars=[FLAT_100, ("106", "107", "105.5", "106")],
        script={0: [stop("P", BUY, "1", "105")]},
        fills=[Fill("P", BUY, "1", "106.106", bar=1)],
        slippage_bps="10",
    ), id="buy-gap-through-trigger-fills-at-open-plus-slippage"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "104.99", "99", "104")],
        script={0: [stop("P", BUY, "1", "105")]},
        working=["P"],
    ), id="buy-high-below-trigger-no-fill"),
    pytest.param(Case(
        bars=[("100", "110", "99", "100"), ("100", "104.99", "99", "104")],
        script={0: [stop("P", BUY, "1", "105")]},
        working=["P"],
    ), id="buy-decision-bar-touching-does-not-count"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("100", "100.5", "95", "96")],
        script=with_long({1: [stop("P", SELL, "1", "95")]}),
        fills=[Fill("B", BUY, "1", "100.1", bar=1), Fill("P", SELL, "1", "94.905", bar=2)],
        slippage_bps="10",
    ), id="sell-low-touches-trigger-fills-at-trigger-minus-slippage"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("94", "94.5", "93", "94")],
        script=with_long({1: [stop("P", SELL, "1", "95")]}),
        fills=[Fill("B", BUY, "1", "100", bar=1), Fill("P", SELL, "1", "94", bar=2)],
    ), id="sell-gap-through-trigger-fills-at-open"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("100", "100.5", "95.01", "96")],
        script=with_long({1: [stop("P", SELL, "1", "95")]}),
        fills=[Fill("B", BUY, "1", "100", bar=1)],
        working=["P"],
    ), id="sell-low-above-trigger-no-fill"),
]


@pytest.mark.parametrize("case", STOP_CASES)
def test_stop_orders_trigger_on_touch(case: Case) -> None:
    check(case)


# -- stop-limit orders -------------------------------------------------------------------------
STOP_LIMIT_CASES = [
    pytest.param(Case(
        bars=[FLAT_100, ("100", "105.5", "99", "105")],
        script={0: [stop_limit("Q", BUY, "1", trigger="105", price="106")]},
        fills=[Fill("Q", BUY, "1", "106", bar=1)],
        triggers=[("Q", 1)],
        slippage_bps="10",
    ), id="buy-triggered-in-bar-trigger-better-than-limit-fills-at-limit"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "106", "99", "105"), ("104.5", "105", "103.5", "104")],
        script={0: [stop_limit("Q", BUY, "1", trigger="105", price="104")]},
        fills=[Fill("Q", BUY, "1", "104", bar=2)],
        triggers=[("Q", 1)],
    ), id="buy-triggered-in-bar-limit-below-trigger-rests-then-fills-as-limit"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "106", "99", "105"), ("103", "103.5", "102", "103")],
        script={0: [stop_limit("Q", BUY, "1", trigger="105", price="104")]},
        fills=[Fill("Q", BUY, "1", "103", bar=2)],
        triggers=[("Q", 1)],
    ), id="buy-rested-after-trigger-next-bar-opens-through-limit-fills-at-open"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "106", "99", "105")],
        script={0: [stop_limit("Q", BUY, "1", trigger="105", price="105")]},
        triggers=[("Q", 1)],
        working=["Q"],
    ), id="buy-trigger-equal-to-limit-rests"),
    pytest.param(Case(
        bars=[FLAT_100, ("104.5", "104.9", "103", "104")],
        script={0: [stop_limit("Q", BUY, "1", trigger="105", price="104")]},
        triggers=[],
        working=["Q"],
    ), id="buy-untriggered-does-not-work-as-a-limit"),
    pytest.param(Case(
        bars=[FLAT_100, ("106", "108", "105.5", "107")],
        script={0: [stop_limit("Q", BUY, "1", trigger="105", price="107")]},
        fills=[Fill("Q", BUY, "1", "106", bar=1)],
        triggers=[("Q", 1)],
        slippage_bps="10",
    ), id="buy-gap-through-trigger-below-limit-fills-at-open"),
    pytest.param(Case(
        bars=[FLAT_100, ("108", "109", "107.5", "108")],
        script={0: [stop_limit("Q", BUY, "1", trigger="105", price="107")]},
        triggers=[("Q", 1)],
        working=["Q"],
    ), id="buy-gap-above-limit-triggers-but-rests"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("100", "100.5", "94.5", "95")],
        script=with_long({1: [stop_limit("Q", SELL, "1", trigger="95", price="94")]}),
        fills=[Fill("B", BUY, "1", "100", bar=1), Fill("Q", SELL, "1", "94", bar=2)],
        triggers=[("Q", 2)],
    ), id="sell-triggered-in-bar-trigger-better-than-limit-fills-at-limit"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("100", "100.5", "94", "95"), ("95.5", "96.5", "95", "96")],
        script=with_long({1: [stop_limit("Q", SELL, "1", trigger="95", price="96")]}),
        fills=[Fill("B", BUY, "1", "100", bar=1), Fill("Q", SELL, "1", "96", bar=3)],
        triggers=[("Q", 2)],
    ), id="sell-triggered-in-bar-limit-above-trigger-rests-then-fills-as-limit"),
]


@pytest.mark.parametrize("case", STOP_LIMIT_CASES)
def test_stop_limit_orders_trigger_then_work_as_limits(case: Case) -> None:
    check(case)


# -- attached stop-loss / take-profit ----------------------------------------------------------
def entry(**levels: Level) -> dict[int, list[Command]]:
    return {0: [market("E", BUY, "1", **levels)]}


BRACKET = {"stop_loss": Level(price=Decimal(95)), "take_profit": Level(price=Decimal(110))}

ATTACHED_EXIT_CASES = [
    pytest.param(Case(
        bars=[FLAT_100, ("100", "120", "80", "100")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1)],
        working=["E-SL", "E-TP"],
    ), id="entry-bar-range-covers-both-levels-no-exit-in-entry-bar"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("99", "99.5", "95", "96")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1), Fill("E-SL", SELL, "1", "95", bar=2)],
        cancels=[Cancel("E-TP", "one-cancels-other: E-SL filled", bar=2)],
    ), id="stop-loss-triggers-from-the-bar-after-entry"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "120", "80", "100"), ("99", "99.5", "95", "96")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1), Fill("E-SL", SELL, "1", "95", bar=2)],
        cancels=[Cancel("E-TP", "one-cancels-other: E-SL filled", bar=2)],
    ), id="stop-loss-skips-entry-bar-then-triggers-next-bar"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("93", "94", "92", "93")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1), Fill("E-SL", SELL, "1", "93", bar=2)],
        cancels=[Cancel("E-TP", "one-cancels-other: E-SL filled", bar=2)],
    ), id="stop-loss-gap-fills-at-open"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("105", "110.5", "104", "110")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1), Fill("E-TP", SELL, "1", "110", bar=2)],
        cancels=[Cancel("E-SL", "one-cancels-other: E-TP filled", bar=2)],
    ), id="take-profit-fills-from-the-bar-after-entry-and-cancels-stop"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("105", "110", "104", "110")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1)],
        working=["E-SL", "E-TP"],
    ), id="take-profit-only-touched-no-fill"),
    pytest.param(Case(
        bars=[FLAT_100, ("200", "201", "199", "200"), ("200", "205", "190", "195")],
        script=entry(stop_loss=Level(offset=Decimal("0.05")),
                     take_profit=Level(offset=Decimal("0.1"))),
        fills=[Fill("E", BUY, "1", "200", bar=1), Fill("E-SL", SELL, "1", "190", bar=2)],
        cancels=[Cancel("E-TP", "one-cancels-other: E-SL filled", bar=2)],
    ), id="offset-levels-resolve-from-the-entry-fill-price"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "100.5", "97", "99"), ("99", "99.5", "98", "98.5")],
        script={0: [limit("E", BUY, "1", "99", stop_loss=Level(price=Decimal(98)))]},
        fills=[Fill("E", BUY, "1", "99", bar=1), Fill("E-SL", SELL, "1", "98", bar=2)],
    ), id="limit-entry-bar-low-below-stop-still-waits-a-bar"),
]


@pytest.mark.parametrize("case", ATTACHED_EXIT_CASES)
def test_attached_exits_work_from_the_bar_after_the_entry_fill(case: Case) -> None:
    out = check(case)
    exits = [o for o in out.kernel.orders.values() if o.parent_id == "E"]
    assert exits, "the entry's exits were not placed"
    assert all(o.reduce_only and o.quantity == Decimal(1) for o in exits)


OCO_CASES = [
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("100", "111", "94", "100")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1), Fill("E-SL", SELL, "1", "95", bar=2)],
        cancels=[Cancel("E-TP", "one-cancels-other: E-SL filled", bar=2)],
    ), id="one-bar-touches-both-stop-loss-wins"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("112", "113", "94", "100")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1), Fill("E-SL", SELL, "1", "95", bar=2)],
        cancels=[Cancel("E-TP", "one-cancels-other: E-SL filled", bar=2)],
    ), id="bar-opening-above-take-profit-that-also-touches-stop-stop-loss-wins"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("100", "109", "96", "100"),
              ("100", "111", "99", "110")],
        script=entry(**BRACKET),
        fills=[Fill("E", BUY, "1", "100", bar=1), Fill("E-TP", SELL, "1", "110", bar=3)],
        cancels=[Cancel("E-SL", "one-cancels-other: E-TP filled", bar=3)],
    ), id="bar-touching-neither-keeps-both-then-take-profit-alone"),
]


@pytest.mark.parametrize("case", OCO_CASES)
def test_stop_loss_and_take_profit_are_one_cancels_other(case: Case) -> None:
    out = check(case)
    assert out.portfolio.position_qty(IID) == 0


# -- quote-amount market orders ----------------------------------------------------------------
QUOTE_CASES = [
    pytest.param(Case(
        bars=[("60", "60", "50", "50"), ("100", "101", "99", "100")],
        script={0: [market("E", BUY, quote_amount="1001")]},
        fills=[Fill("E", BUY, "10", "100", bar=1, fee="1")],
    ), id="qty-resolved-at-fill-price-not-decision-close"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100")],
        script={0: [market("E", BUY, quote_amount="1002.001")]},
        fills=[Fill("E", BUY, "10", "100.1", bar=1, fee="1.001")],
        slippage_bps="10",
    ), id="qty-uses-the-slipped-price"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100")],
        script={0: [market("E", BUY, quote_amount="5000")]},
        fills=[Fill("E", BUY, "10", "100", bar=1, fee="1")],
        cash="1001",
    ), id="quote-above-cash-spends-only-the-cash"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100")],
        script={1: [market("E", BUY, quote_amount="1001")]},
        working=["E"],
    ), id="not-resolved-or-filled-in-the-decision-bar"),
]


@pytest.mark.parametrize("case", QUOTE_CASES)
def test_quote_amount_market_orders_resolve_qty_at_the_fill(case: Case) -> None:
    out = check(case)
    if case.fills:
        assert out.kernel.orders["E"].quantity == Decimal(10)


@pytest.mark.parametrize(
    ("cash", "quote", "open_"),
    [
        pytest.param("10000", "1000", "100", id="repeating-quotient"),
        pytest.param("12345.6789", "12345.6789", "6199.96", id="all-cash-odd-amount"),
        pytest.param("52046", "52046", "46502.3", id="all-cash-round-amount"),
        pytest.param("14690.64038080680888064622158", "14690.64038080680888064622158",
                     "95071.48", id="all-cash-28-digit-amount"),
    ],
)
def test_quote_amount_qty_is_quote_over_price_times_one_plus_fee_and_never_overspends(
    cash: str, quote: str, open_: str,
) -> None:
    case = Case(bars=[FLAT_100, (open_, open_, open_, open_)],
                script={0: [market("E", BUY, quote_amount=quote)]}, cash=cash)
    out = simulate(case)
    assert [type(e).__name__ for e in out.events] == ["OrderAccepted", "OrderFilled"]
    (fill,) = out.kernel.fills
    rate = Fraction(10, 10_000)
    exact_qty = Fraction(Decimal(quote)) / (Fraction(Decimal(open_)) * (1 + rate))
    assert fill.last_px == Decimal(open_)
    assert abs(Fraction(fill.last_qty) - exact_qty) <= exact_qty * Fraction(1, 10**26)
    spent = Fraction(fill.last_qty) * Fraction(fill.last_px) * (1 + rate)
    assert spent <= Fraction(Decimal(quote))
    assert out.portfolio.cash >= 0


# -- the spot cash account ---------------------------------------------------------------------
CASH_CASES = [
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100")],
        script={0: [market("E", BUY, "2")]},
        cancels=[Cancel("E", "insufficient funds", bar=1)],
        cash="100",
    ), id="buy-without-the-cash-cancelled-insufficient-funds"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100")],
        script={0: [market("E", BUY, "1")]},
        cancels=[Cancel("E", "insufficient funds", bar=1)],
        cash="100",
    ), id="buy-with-cash-for-notional-but-not-fee-cancelled"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100")],
        script={0: [market("E", BUY, "1")]},
        fills=[Fill("E", BUY, "1", "100", bar=1, fee="0.1")],
        cash="100.1",
    ), id="buy-with-exactly-notional-plus-fee-fills"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100")],
        script={0: [market("X", SELL, "1", reduce_only=True)]},
        cancels=[Cancel("X", "nothing left to sell", bar=1)],
    ), id="reduce-only-sell-when-flat-cancelled"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("101", "102", "100", "101")],
        script=with_long({1: [market("X", SELL, "5", reduce_only=True)]}),
        fills=[Fill("B", BUY, "1", "100", bar=1), Fill("X", SELL, "1", "101", bar=2)],
        # The unfillable rest is cancelled explicitly, so kernel and venue agree it is done.
        cancels=[Cancel("X", "reduce-only remainder: nothing more is held", bar=2)],
    ), id="reduce-only-sell-shrinks-to-what-is-held"),
    pytest.param(Case(
        bars=[FLAT_100, FLAT_100, ("101", "102", "100", "101")],
        script=with_long({1: [market("X", SELL, "2")]}),
        fills=[Fill("B", BUY, "1", "100", bar=1)],
        cancels=[Cancel("X", "insufficient BTC", bar=2)],
    ), id="plain-sell-beyond-holding-cancelled"),
]


@pytest.mark.parametrize("case", CASH_CASES)
def test_spot_cash_account_rules(case: Case) -> None:
    out = check(case)
    assert out.portfolio.cash >= 0


# -- time in force -----------------------------------------------------------------------------
IOC_CASES = [
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("94", "94.5", "93", "94")],
        script={0: [limit("L", BUY, "1", "95", time_in_force=TimeInForce.IOC)]},
        cancels=[Cancel("L", "ioc order did not fill", bar=1)],
    ), id="ioc-not-filled-on-first-eligible-bar-cancelled"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "94", "100")],
        script={0: [limit("L", BUY, "1", "95", time_in_force=TimeInForce.IOC)]},
        fills=[Fill("L", BUY, "1", "95", bar=1)],
    ), id="ioc-filled-on-first-eligible-bar"),
    pytest.param(Case(
        bars=[("100", "101", "90", "100")],
        script={0: [limit("L", BUY, "1", "95", time_in_force=TimeInForce.IOC)]},
        working=["L"],
    ), id="ioc-not-cancelled-in-its-decision-bar"),
    pytest.param(Case(
        bars=[FLAT_100, ("100", "101", "99", "100"), ("94", "94.5", "93", "94")],
        script={0: [limit("L", BUY, "1", "95")]},
        fills=[Fill("L", BUY, "1", "94", bar=2)],
    ), id="gtc-not-filled-on-first-bar-keeps-working"),
]


@pytest.mark.parametrize("case", IOC_CASES)
def test_ioc_limit_orders_cancel_when_not_filled_on_first_eligible_bar(case: Case) -> None:
    check(case)
