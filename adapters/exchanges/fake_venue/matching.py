"""The matching engine: the account's orders against the replayed market.

Rules (the venue is a price taker; the recorded market never sees our orders):

* A taker order (``MARKET``, or a marketable limit) fills at the replayed ``bookTicker`` touch and,
  beyond its quantity, walks the replayed depth book; with too little liquidity the rest expires.
* A resting limit order fills only when a replayed trade prints *through* its price (a buy below,
  a sell above), at its own price, for at most that trade's quantity, shared between our orders
  in price-time priority; so fills are partial when the market trades less than we rest.
* ``STOP_LOSS``/``TAKE_PROFIT`` (and their ``_LIMIT`` forms) trigger on replayed trades; the market
  form then takes liquidity, the limit form works as a limit order.
* Balances are locked at placement (quote for buys, base for sells), debited by fills, released by
  cancels and expiries. Commission is charged in the asset received.

Every state change emits its ``executionReport`` and then an ``outboundAccountPosition`` for the
assets it touched, in the same event-loop step, so REST answers and events always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_UP, Decimal
from typing import Any

from adapters.exchanges.fake_venue.accounts import INSUFFICIENT, Account
from adapters.exchanges.fake_venue.filters import SymbolRules
from adapters.exchanges.fake_venue.market import MarketState
from adapters.exchanges.fake_venue.orders import (
    LIMIT_PRICED,
    STOP_TYPES,
    Fill,
    NewOrder,
    VenueOrder,
    new_client_order_id,
)
from adapters.exchanges.fake_venue.recording import TradeEvent
from adapters.exchanges.fake_venue.wire import EIGHT, ZERO, VenueError

Notify = Callable[[Account, dict[str, Any]], None]
UNKNOWN_ORDER = "Unknown order sent."


class MatchingEngine:
    """Orders of every account on every symbol, matched against the markets."""

    def __init__(self, markets: dict[str, MarketState], rules: dict[str, SymbolRules],
                 clock: Callable[[], int], notify: Notify) -> None:
        self.markets = markets
        self.rules = rules
        self.clock = clock
        self.notify = notify
        self.orders: dict[str, dict[int, VenueOrder]] = {s: {} for s in markets}
        self.open: dict[str, list[VenueOrder]] = {s: [] for s in markets}
        self.trades: list[tuple[VenueOrder, Fill]] = []
        self._next_order_id = dict.fromkeys(markets, 1)
        self._next_trade_id = dict.fromkeys(markets, 1)
        self._next_execution_id = 1

    # -- reporting ------------------------------------------------------------------------
    def _report(self, order: VenueOrder, exec_type: str, fill: Fill | None = None,
                cancel_id: str = "") -> None:
        now = self.clock()
        self._next_execution_id += 1
        self.notify(order.account, order.execution_report(
            exec_type, now, self._next_execution_id, fill, cancel_id))
        touched = order.account.take_touched()
        if touched:
            self.notify(order.account, order.account.position_event(touched, now))

    # -- placement ------------------------------------------------------------------------
    def place(self, account: Account, req: NewOrder) -> VenueOrder:
        """Accept (and possibly execute) a new order, or raise the error Binance would."""
        market = self.markets[req.symbol]
        rules = self.rules[req.symbol]
        mine = [o for o in self.open[req.symbol] if o.account is account]
        rules.check(req, market, mine)
        if any(o.client_order_id == req.client_order_id for o in mine):
            raise VenueError(-2010, "Duplicate order sent.")
        if req.type in STOP_TYPES and _triggered(req.type, req.side, req.stop_price,
                                                 market.last_price):
            raise VenueError(-2010, "Order would trigger immediately.")
        if req.type == "LIMIT_MAKER" and self._crosses(market, req.side, req.price):
            raise VenueError(-2010, "Order would immediately match and take.")
        now = self.clock()
        taker: list[tuple[Decimal, Decimal]] = []
        if req.type == "MARKET":
            taker = self._plan(market, rules, req.side, None, req.quantity, req.quote_order_qty)
            self._check_market_funds(account, req, taker)
        order = VenueOrder(
            account=account, symbol=req.symbol, order_id=self._next_order_id[req.symbol],
            client_order_id=req.client_order_id, side=req.side, type=req.type,
            time_in_force=req.time_in_force or "GTC", price=req.price or ZERO,
            orig_qty=req.quantity or sum((q for _, q in taker), ZERO),
            orig_quote_qty=req.quote_order_qty or ZERO, stop_price=req.stop_price or ZERO,
            time=now, update_time=now)
        if req.type != "MARKET":
            self._lock(order, now)  # raises -2010 before the order exists
        self._next_order_id[req.symbol] += 1
        self.orders[req.symbol][order.order_id] = order
        if req.type not in STOP_TYPES:
            order.working_time = now
        self._report(order, "NEW")
        if req.type == "MARKET":
            self._take(order, taker)
            self._finish_taker(order, "INSUFFICIENT_LIQUIDITY")
        elif req.type in ("LIMIT", "LIMIT_MAKER"):
            self._work_limit(order)
        else:
            self.open[req.symbol].append(order)
        return order

    def _lock(self, order: VenueOrder, now: int) -> None:
        base, quote = self.rules[order.symbol].assets
        if order.side == "SELL":
            order.lock_asset, amount = base, order.orig_qty
        else:
            # A stop-market buy has no price yet: lock its value at the stop price.
            price = order.price if order.type in LIMIT_PRICED else order.stop_price
            order.lock_asset, amount = quote, price * order.orig_qty
        order.account.lock(order.lock_asset, amount, now)
        order.locked = amount

    def _check_market_funds(self, account: Account, req: NewOrder,
                            taker: list[tuple[Decimal, Decimal]]) -> None:
        base, quote = self.rules[req.symbol].assets
        if req.side == "BUY":
            need = req.quote_order_qty or sum((p * q for p, q in taker), ZERO)
            if need > account.balance(quote).free:
                raise VenueError(-2010, INSUFFICIENT)
        elif sum((q for _, q in taker), ZERO) > account.balance(base).free or (
                req.quantity is not None and req.quantity > account.balance(base).free):
            raise VenueError(-2010, INSUFFICIENT)

    @staticmethod
    def _crosses(market: MarketState, side: str, price: Decimal | None) -> bool:
        touch = market.touch
        if touch is None or price is None:
            return False
        bid, _, ask, _ = touch
        return price >= ask if side == "BUY" else price <= bid

    # -- taking liquidity -----------------------------------------------------------------
    def _plan(self, market: MarketState, rules: SymbolRules, side: str, limit: Decimal | None,
              qty: Decimal | None, quote_qty: Decimal | None) -> list[tuple[Decimal, Decimal]]:
        """Return the (price, qty) fills a taker order would get, best price first."""
        touch = market.touch
        if touch is None:
            return []
        bid, bid_qty, ask, ask_qty = touch
        if side == "BUY":
            levels = [(ask, ask_qty), *market.book.walk("asks", ask)]
        else:
            levels = [(bid, bid_qty), *market.book.walk("bids", bid)]
        plan: list[tuple[Decimal, Decimal]] = []
        left_qty, left_quote = qty, quote_qty
        for price, available in levels:
            if limit is not None and (price > limit if side == "BUY" else price < limit):
                break
            if left_qty is not None:
                take = min(available, left_qty)
                left_qty -= take
            else:
                assert left_quote is not None
                take = min(available, rules.floor_step(left_quote / price))
                left_quote -= take * price
            if take > 0:
                plan.append((price, take))
            if (left_qty is not None and left_qty <= 0) or (left_quote is not None and take <= 0):
                break
        return plan

    def _take(self, order: VenueOrder, plan: list[tuple[Decimal, Decimal]]) -> None:
        for price, qty in plan:
            self._fill(order, price, qty, maker=False)

    def _finish_taker(self, order: VenueOrder, reason: str) -> None:
        """Expire what a taker order could not fill (or rest it, for a GTC limit)."""
        if order.status == "FILLED":
            return
        if order.type in LIMIT_PRICED and order.time_in_force == "GTC":
            self.open[order.symbol].append(order)
            return
        order.status = "EXPIRED"
        order.expiry_reason = reason
        order.update_time = self.clock()
        self._release(order)
        self._report(order, "EXPIRED")

    def _work_limit(self, order: VenueOrder) -> None:
        market = self.markets[order.symbol]
        rules = self.rules[order.symbol]
        plan = []
        if self._crosses(market, order.side, order.price):
            plan = self._plan(market, rules, order.side, order.price, order.remaining, None)
        if order.time_in_force == "FOK" and sum((q for _, q in plan), ZERO) < order.remaining:
            self._finish_taker(order, "UNFILLED_FOK_ORDER_EXPIRED")
            return
        self._take(order, plan)
        self._finish_taker(order, "UNFILLED_IOC_QUANTITY_EXPIRED")

    # -- fills ----------------------------------------------------------------------------
    def _fill(self, order: VenueOrder, price: Decimal, qty: Decimal, maker: bool) -> None:
        account = order.account
        base, quote = self.rules[order.symbol].assets
        now = self.clock()
        cfg = account.config
        rate = cfg.maker_commission if maker else cfg.taker_commission
        cost = price * qty
        if order.side == "BUY":
            if order.locked:
                held = min(order.locked, order.price * qty if order.price else cost)
                account.debit_locked(quote, held, now)
                order.locked -= held
                account.credit(quote, held - cost, now)  # filled below the locked price
            else:
                account.debit_free(quote, cost, now)
            commission, fee_asset = (qty * rate).quantize(EIGHT, rounding=ROUND_UP), base
            account.credit(base, qty - commission, now)
        else:
            if order.locked:
                account.debit_locked(base, qty, now)
                order.locked -= qty
            else:
                account.debit_free(base, qty, now)
            commission, fee_asset = (cost * rate).quantize(EIGHT, rounding=ROUND_UP), quote
            account.credit(quote, cost - commission, now)
        trade_id = self._next_trade_id[order.symbol]
        self._next_trade_id[order.symbol] += 1
        fill = Fill(price, qty, commission, fee_asset, trade_id, maker, now)
        order.fills.append(fill)
        order.executed_qty += qty
        order.cum_quote += cost
        order.update_time = now
        order.status = "FILLED" if order.executed_qty >= order.orig_qty else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self._release(order)
            self._drop(order)
        self.trades.append((order, fill))
        self._report(order, "TRADE", fill)

    def _release(self, order: VenueOrder) -> None:
        if order.locked:
            order.account.unlock(order.lock_asset, order.locked, self.clock())
            order.locked = ZERO

    def _drop(self, order: VenueOrder) -> None:
        book = self.open[order.symbol]
        if order in book:
            book.remove(order)

    # -- the market moves -----------------------------------------------------------------
    def on_trade(self, trade: TradeEvent) -> None:
        """Trigger stops and fill resting limits that the replayed trade went through."""
        book = self.open[trade.symbol]
        if not book:
            return
        for order in [o for o in book if o.type in STOP_TYPES and not o.triggered]:
            if _triggered(order.type, order.side, order.stop_price, trade.price):
                self._trigger(order)
        through = [o for o in self.open[trade.symbol] if o.is_working and (
            trade.price < o.price if o.side == "BUY" else trade.price > o.price)]
        # Best price first, then time: our orders share the printed quantity.
        through.sort(key=lambda o: (-o.price if o.side == "BUY" else o.price, o.time, o.order_id))
        left = trade.qty
        for order in through:
            if left <= 0:
                break
            take = min(order.remaining, left)
            left -= take
            self._fill(order, order.price, take, maker=True)

    def _trigger(self, order: VenueOrder) -> None:
        now = self.clock()
        order.triggered = True
        order.working_time = now
        order.update_time = now
        if order.type.endswith("_LIMIT"):
            self._drop(order)
            self._work_limit(order)
            return
        self._drop(order)
        market = self.markets[order.symbol]
        plan = self._plan(market, self.rules[order.symbol], order.side, None, order.remaining,
                          None)
        if order.side == "BUY":
            self._release(order)  # the market price replaces the stop-price estimate
            quote = self.rules[order.symbol].assets[1]
            if sum((p * q for p, q in plan), ZERO) > order.account.balance(quote).free:
                plan = []
        self._take(order, plan)
        self._finish_taker(order, "INSUFFICIENT_LIQUIDITY")

    # -- cancels and queries --------------------------------------------------------------
    def find(self, account: Account, symbol: str, order_id: int | None,
             client_order_id: str | None) -> VenueOrder | None:
        """Return the account's order by id or client order id (the newest with that id)."""
        if order_id is not None:
            found = self.orders[symbol].get(order_id)
            if found is not None and found.account is account and (
                    client_order_id is None or found.client_order_id == client_order_id):
                return found
            return None
        for order in reversed(self.orders[symbol].values()):
            if order.account is account and order.client_order_id == client_order_id:
                return order
        return None

    def cancel(self, account: Account, symbol: str, order_id: int | None,
               orig_client_order_id: str | None, cancel_client_id: str | None) -> dict[str, Any]:
        """Cancel an open order; return Binance's answer, or raise -2011."""
        order = self.find(account, symbol, order_id, orig_client_order_id)
        if order is None or not order.is_open:
            raise VenueError(-2011, UNKNOWN_ORDER)
        cancel_id = cancel_client_id or new_client_order_id()
        now = self.clock()
        order.status = "CANCELED"
        order.update_time = now
        self._release(order)
        self._drop(order)
        self._report(order, "CANCELED", cancel_id=cancel_id)
        return order.canceled(cancel_id, now)

    def open_orders(self, account: Account, symbol: str | None) -> list[VenueOrder]:
        """Return the account's open orders (on one symbol, or all), oldest first."""
        symbols = [symbol] if symbol else list(self.open)
        return sorted((o for s in symbols for o in self.open[s] if o.account is account),
                      key=lambda o: (o.symbol, o.order_id))

    def all_orders(self, account: Account, symbol: str) -> list[VenueOrder]:
        """Return every order of the account on ``symbol``, oldest first."""
        return [o for o in self.orders[symbol].values() if o.account is account]

    def my_trades(self, account: Account, symbol: str) -> list[tuple[VenueOrder, Fill]]:
        """Return the account's fills on ``symbol``, oldest first."""
        return [(o, f) for o, f in self.trades if o.account is account and o.symbol == symbol]


def _triggered(order_type: str, side: str, stop: Decimal | None, last: Decimal | None) -> bool:
    if stop is None or last is None:
        return False
    rising = (order_type.startswith("STOP_LOSS")) == (side == "BUY")
    return last >= stop if rising else last <= stop
