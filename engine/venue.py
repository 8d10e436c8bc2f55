"""The simulated venue: matches orders against bars with fixed fill rules and cost models.

Fill rules for bar data (each has a table test in tests/engine/test_fill_rules.py):
- An order is eligible from the first bar that opens after it was submitted.
- Market: fills at the bar's open (plus slippage).
- Limit: fills when the bar trades through the limit (a buy needs low < limit, a sell
  high > limit), at the limit, or at the open when the bar opens through it.
- Stop: triggers when the bar touches the trigger (a sell stop: low <= trigger; a buy stop:
  high >= trigger) and fills at the trigger (plus slippage), or at the open on a gap through it.
- Stop-limit: triggers like a stop, then works as a limit; triggered inside the bar it fills in
  that bar at its limit when the trigger price is better than the limit, otherwise it rests.
- Orders sharing a parent (a stop-loss and a take-profit) are one-cancels-other; stops are
  matched before limits, so when one bar touches both, the stop-loss wins.
- Spot cash account: a buy needs the cash for notional plus fee; a sell needs the base asset.
  Reduce-only orders shrink to what is held and are cancelled when nothing is.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Context, Decimal

from domain.events import (
    Liquidity,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
)
from domain.fixed import pow10
from domain.instruments import Instrument, InstrumentId
from domain.market import Bar
from domain.orders import Order, OrderSide, OrderStatus, OrderType, TimeInForce
from domain.ports import EventSink, PortfolioView
from engine.models import FeeModel, SlippageModel

_MATCH_ORDER = {OrderType.MARKET: 0, OrderType.STOP_MARKET: 1, OrderType.STOP_LIMIT: 1,
                OrderType.LIMIT: 2}


class _Working:
    """An order the venue holds, with its thresholds as raw ints at the bar's precision."""

    __slots__ = ("limit_ceil", "limit_floor", "order", "precision", "stop_ceil", "stop_floor")

    def __init__(self, order: Order, precision: int) -> None:
        self.order = order
        self.precision = precision
        scale = pow10(precision)
        price, trigger = order.price, order.trigger_price
        self.limit_ceil = _scaled(price, scale, ROUND_CEILING)
        self.limit_floor = _scaled(price, scale, ROUND_FLOOR)
        self.stop_ceil = _scaled(trigger, scale, ROUND_CEILING)
        self.stop_floor = _scaled(trigger, scale, ROUND_FLOOR)


_ROUND_DOWN = Context(rounding=ROUND_DOWN)
_WIDE = Context(prec=100)  # wide enough that the products below are exact


def _exact_cost(qty: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """Return notional plus fee without rounding, so a budget-sized buy always passes."""
    return _WIDE.multiply(_WIDE.multiply(qty, price), _WIDE.add(1, rate))


def _scaled(value: Decimal | None, scale: int, rounding: str) -> int:
    if value is None:
        return 0
    return int((value * scale).to_integral_value(rounding=rounding))


class _Unbound:
    def on_order_event(self, event: object) -> None:
        raise RuntimeError("bind the venue to a kernel before submitting orders")


class SimulatedVenue:
    """A venue that fills orders against bars; paper and backtest share it."""

    def __init__(
        self,
        account: PortfolioView,
        fees: FeeModel,
        slippage: SlippageModel,
        instruments: dict[InstrumentId, Instrument] | None = None,
    ) -> None:
        self._sink: EventSink = _Unbound()
        self._account = account
        self._fees = fees
        self._slippage = slippage
        self._instruments = instruments or {}
        self._incoming: list[Order] = []
        self._working: dict[InstrumentId, list[_Working]] = {}
        self._order_seq = 0
        self._trade_seq = 0
        self.has_orders = False

    # -- ExecutionVenue -------------------------------------------------------------------
    def bind(self, sink: EventSink) -> None:
        """Report order events to ``sink`` (the kernel)."""
        self._sink = sink

    def submit(self, order: Order) -> None:
        """Accept an order (or reject it by the instrument's filters); it works from next bar."""
        instrument = self._instruments.get(order.instrument_id)
        if instrument is not None and order.quantity is not None:
            problem = instrument.check_order(order.quantity, order.price)
            if problem:
                self._sink.on_order_event(OrderRejected(
                    client_order_id=order.client_order_id, reason=problem, ts_event=order.ts_last))
                return
        self._order_seq += 1
        self._sink.on_order_event(OrderAccepted(
            client_order_id=order.client_order_id, venue_order_id=f"SIM-{self._order_seq}",
            ts_event=order.ts_last))
        self._incoming.append(order)
        self.has_orders = True

    def cancel(self, order: Order) -> None:
        """Cancel a working order at once."""
        if order in self._incoming:
            self._incoming.remove(order)
        for working in self._working.values():
            for item in working:
                if item.order is order:
                    working.remove(item)
                    break
        self._refresh_has_orders()
        if order.is_working:
            self._emit_cancel(order, "cancelled on request", order.ts_last)

    def working_orders(self) -> list[Order]:
        """Return the orders the venue holds, in matching order."""
        held = [item.order for items in self._working.values() for item in items]
        return held + list(self._incoming)

    # -- matching -------------------------------------------------------------------------
    def on_bar(self, bar: Bar) -> None:
        """Match the orders eligible for this bar; submissions made meanwhile wait a bar."""
        if not self.has_orders:
            return
        if self._incoming:
            self._activate(bar)
        working = self._working.get(bar.instrument_id)
        if not working:
            return
        for item in list(working):
            if item not in working:
                continue  # cancelled as the sibling of an order filled earlier in this bar
            order = item.order
            if not order.is_working:
                working.remove(item)
                continue
            if self._match(item, bar):
                working.remove(item)
            elif order.time_in_force is not TimeInForce.GTC:
                working.remove(item)
                self._emit_cancel(order, f"{order.time_in_force} order did not fill", bar.ts_open)
        self._refresh_has_orders()

    def _activate(self, bar: Bar) -> None:
        for order in self._incoming:
            if order.instrument_id != bar.instrument_id:
                continue
            items = self._working.setdefault(order.instrument_id, [])
            items.append(_Working(order, bar.price_precision))
            items.sort(key=lambda item: _MATCH_ORDER[item.order.type])
        self._incoming = [o for o in self._incoming if o.instrument_id != bar.instrument_id]

    def _match(self, item: _Working, bar: Bar) -> bool:
        """Fill the order if this bar reaches it; return True when it left the book."""
        order = item.order
        buy = order.side is OrderSide.BUY
        kind = order.type
        if kind is OrderType.MARKET:
            price = self._slippage.apply(bar.price(bar.open), order.side)
            return self._fill(order, price, Liquidity.TAKER, bar)
        if kind is OrderType.LIMIT or order.status is OrderStatus.TRIGGERED:
            return self._match_limit(item, bar, buy, bar.open)
        # Stops: touched, or gapped through at the open.
        if buy:
            gapped, touched = bar.open >= item.stop_ceil, bar.high >= item.stop_ceil
        else:
            gapped, touched = bar.open <= item.stop_floor, bar.low <= item.stop_floor
        if not touched:
            return False
        assert order.trigger_price is not None
        reference = bar.price(bar.open) if gapped else order.trigger_price
        if kind is OrderType.STOP_MARKET:
            price = self._slippage.apply(reference, order.side)
            return self._fill(order, price, Liquidity.TAKER, bar)
        self._sink.on_order_event(OrderTriggered(client_order_id=order.client_order_id,
                                                 ts_event=bar.ts_open))
        assert order.price is not None
        if gapped:
            return self._match_limit(item, bar, buy, bar.open)
        better = order.trigger_price < order.price if buy else order.trigger_price > order.price
        return self._fill(order, order.price, Liquidity.MAKER, bar) if better else False

    def _match_limit(self, item: _Working, bar: Bar, buy: bool, open_raw: int) -> bool:
        order = item.order
        assert order.price is not None
        if buy:
            opened_through, traded_through = open_raw < item.limit_ceil, bar.low < item.limit_ceil
        else:
            floor = item.limit_floor
            opened_through, traded_through = open_raw > floor, bar.high > floor
        if opened_through:
            return self._fill(order, bar.price(open_raw), Liquidity.TAKER, bar)
        if traded_through:
            return self._fill(order, order.price, Liquidity.MAKER, bar)
        return False

    def _fill(self, order: Order, price: Decimal, liquidity: Liquidity, bar: Bar) -> bool:
        rate = self._fees.rate(liquidity)
        held = self._account.position_qty(order.instrument_id)
        if order.quantity is None:
            assert order.quote_amount is not None
            budget = min(order.quote_amount, self._account.cash)
            qty = _ROUND_DOWN.divide(budget, price * (1 + rate))  # never above the budget
        else:
            qty = order.quantity - order.filled_qty
        shrunk = False
        if order.side is OrderSide.SELL:
            if order.reduce_only and qty > held:
                qty, shrunk = held, True
            if qty <= 0:
                self._emit_cancel(order, "nothing left to sell", bar.ts_open)
                return True
            if qty > held:
                self._emit_cancel(order, f"insufficient {order.instrument_id.base}: "
                                  f"holds {held}, order sells {qty}", bar.ts_open)
                return True
        elif qty <= 0 or _exact_cost(qty, price, rate) > self._account.cash:
            self._emit_cancel(order, "insufficient funds", bar.ts_open)
            return True
        fee = qty * price * rate
        self._trade_seq += 1
        self._sink.on_order_event(OrderFilled(
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id or "",
            trade_id=f"SIM-T-{self._trade_seq}",
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            side=order.side,
            last_qty=qty,
            last_px=price,
            fee=fee,
            liquidity=liquidity,
            ts_event=bar.ts_open,
        ))
        if shrunk and order.is_working:
            self._emit_cancel(order, "reduce-only remainder: nothing more is held", bar.ts_open)
        if order.parent_id is not None:
            self._cancel_siblings(order, bar.ts_open)
        return True

    def _cancel_siblings(self, order: Order, ts: int) -> None:
        working = self._working.get(order.instrument_id, [])
        for item in list(working):
            other = item.order
            if other is not order and other.parent_id == order.parent_id:
                working.remove(item)
                if other.is_working:
                    self._emit_cancel(other, f"one-cancels-other: {order.client_order_id} filled",
                                      ts)

    def _emit_cancel(self, order: Order, reason: str, ts: int) -> None:
        self._sink.on_order_event(OrderCanceled(
            client_order_id=order.client_order_id, reason=reason, ts_event=ts))

    def _refresh_has_orders(self) -> None:
        self.has_orders = bool(self._incoming) or any(self._working.values())


