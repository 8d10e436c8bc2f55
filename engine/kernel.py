"""The kernel: feed -> strategy -> risk -> execution -> portfolio, one event at a time.

The same ``Kernel`` object runs a backtest (driven by ``engine.backtest`` over stored bars with
a ``SimulatedClock``), paper trading (bars pushed by the live feed, simulated venue) and live
trading (bars pushed by the live feed, an exchange adapter as venue). It never awaits and never
reads a wall clock; what differs between environments is injected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from domain.commands import CancelAllOrders, CancelOrder, Command, Level, SubmitOrder
from domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    SignalRaised,
)
from domain.instruments import InstrumentId
from domain.market import Bar, Trade
from domain.orders import Order, OrderSide, OrderType
from domain.ports import Clock, ExecutionVenue, PortfolioView, RiskGate, StrategyPort
from engine.bus import MessageBus
from engine.portfolio import Portfolio

TOPIC_BARS = "data.bars"
TOPIC_ORDER_EVENTS = "events.orders"
TOPIC_DENIALS = "events.denials"
TOPIC_SIGNALS = "events.signals"


class _Context:
    """What one strategy sees of the kernel."""

    __slots__ = ("_clock", "_kernel", "_portfolio", "_prefix", "_seq")

    def __init__(self, strategy_id: str, kernel: Kernel) -> None:
        self._prefix = strategy_id
        self._kernel = kernel
        self._clock = kernel.clock
        self._portfolio = kernel.portfolio
        self._seq = 0

    @property
    def portfolio(self) -> PortfolioView:
        return self._portfolio

    def timestamp_ns(self) -> int:
        return self._clock.timestamp_ns()

    def next_client_order_id(self) -> str:
        self._seq += 1
        return f"{self._prefix}-{self._seq}"

    def record_signal(self, signal: SignalRaised) -> None:
        self._kernel.record_signal(signal)


class EquityCurve:
    """Bar-close equity (float) per bar, and how many bars closed holding a position."""

    __slots__ = ("equity", "exposed_bars", "ts")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.equity: list[float] = []
        self.exposed_bars = 0


class Kernel:
    """Wire strategies, risk, a venue and the portfolio; process bars and order events."""

    def __init__(
        self,
        clock: Clock,
        portfolio: Portfolio,
        venue: ExecutionVenue,
        risk: RiskGate,
        strategies: Sequence[StrategyPort],
        bus: MessageBus | None = None,
    ) -> None:
        self.clock = clock
        self.portfolio = portfolio
        self.venue = venue
        self.risk = risk
        self.bus = bus or MessageBus()
        self.strategies = list(strategies)
        self.orders: dict[str, Order] = {}
        self.fills: list[OrderFilled] = []
        self.denials: list[OrderDenied] = []
        self.signals: list[SignalRaised] = []
        self.curve = EquityCurve()
        self._levels: dict[str, tuple[Level | None, Level | None]] = {}
        self._by_instrument: dict[InstrumentId, list[StrategyPort]] = {}
        self._by_id = {strategy.strategy_id: strategy for strategy in self.strategies}
        if len(self._by_id) != len(self.strategies):
            raise ValueError("strategy ids must be unique within a kernel")
        self._bar_listeners = self.bus.listeners(TOPIC_BARS)
        self._venue_on_bar = venue.on_bar
        self._mark = portfolio.mark
        self._open_positions = portfolio.open_positions
        self._curve_ts = self.curve.ts.append
        self._curve_equity = self.curve.equity.append
        self._risk_follows_bars = risk.follows_bars
        venue.bind(self)
        for strategy in self.strategies:
            for instrument_id in strategy.instrument_ids:
                self._by_instrument.setdefault(instrument_id, []).append(strategy)
            strategy.on_start(_Context(strategy.strategy_id, self))

    # -- data -------------------------------------------------------------------------------
    def on_bar(self, bar: Bar) -> None:
        """Process one closed bar: fills at its open, marks at its close, then decisions."""
        # The hot path of every backtest: bound methods cached in __init__ keep it lean.
        self._venue_on_bar(bar)
        equity = self._mark(bar)
        if self._bar_listeners:
            self.bus.publish(TOPIC_BARS, bar)
        for strategy in self._by_instrument.get(bar.instrument_id, ()):
            commands = strategy.on_bar(bar)
            if commands:
                self.execute_all(commands)
        if self._risk_follows_bars:
            self.risk.on_bar_close(self.portfolio, bar.ts_close)
        self._curve_ts(bar.ts_open)
        self._curve_equity(equity)
        if self._open_positions:
            self.curve.exposed_bars += 1

    def on_trade(self, trade: Trade) -> None:
        """Hand an exchange trade to the strategies of its instrument; execute their commands.

        Fills still come from bars (the simulated venue) or from the exchange (live): a trade
        only lets strategies decide between bars.
        """
        for strategy in self._by_instrument.get(trade.instrument_id, ()):
            commands = strategy.on_trade(trade)
            if commands:
                self.execute_all(commands)

    def record_signal(self, signal: SignalRaised) -> None:
        """Keep a strategy's decision and publish it."""
        self.signals.append(signal)
        self.bus.publish(TOPIC_SIGNALS, signal)

    # -- commands ---------------------------------------------------------------------------
    def execute_all(self, commands: Iterable[Command]) -> None:
        """Execute commands in order."""
        for command in commands:
            self.execute(command)

    def execute(self, command: Command) -> None:
        """Route one command: orders through risk to the venue, cancels to the venue."""
        if isinstance(command, SubmitOrder):
            self._submit(command)
        elif isinstance(command, CancelOrder):
            order = self.orders.get(command.client_order_id)
            if order is not None and order.is_working:
                self.venue.cancel(order)
        elif isinstance(command, CancelAllOrders):
            for order in list(self.orders.values()):
                if (order.is_working and order.strategy_id == command.strategy_id
                        and order.instrument_id == command.instrument_id):
                    self.venue.cancel(order)

    def _submit(self, command: SubmitOrder, parent_id: str | None = None) -> None:
        now = self.clock.timestamp_ns()
        verdict = self.risk.check(command, self.portfolio, now)
        if isinstance(verdict, OrderDenied):
            self.denials.append(verdict)
            self.bus.publish(TOPIC_DENIALS, verdict)
            return
        order = Order(
            client_order_id=verdict.client_order_id,
            strategy_id=verdict.strategy_id,
            instrument_id=verdict.instrument_id,
            side=verdict.side,
            type=verdict.type,
            quantity=verdict.quantity,
            quote_amount=verdict.quote_amount,
            price=verdict.price,
            trigger_price=verdict.trigger_price,
            time_in_force=verdict.time_in_force,
            reduce_only=verdict.reduce_only,
            parent_id=parent_id,
            ts_init=now,
        )
        if order.client_order_id in self.orders:
            raise ValueError(f"duplicate client order id {order.client_order_id}")
        self.orders[order.client_order_id] = order
        if verdict.stop_loss is not None or verdict.take_profit is not None:
            self._levels[order.client_order_id] = (verdict.stop_loss, verdict.take_profit)
        order.apply_submitted(now)
        self.venue.submit(order)

    # -- venue events -----------------------------------------------------------------------
    def on_order_event(self, event: OrderEvent) -> None:
        """Apply a venue's report to the order, the portfolio and the strategy."""
        order = self.orders[event.client_order_id]
        ts = event.ts_event
        if isinstance(event, OrderFilled):
            order.apply_fill(event.last_qty, event.last_px, event.fee, ts)
            self.portfolio.apply_fill(event)
            self.fills.append(event)
            strategy = self._by_id.get(order.strategy_id)
            if strategy is not None:
                strategy.on_order_filled(event)
            if order.client_order_id in self._levels and not order.is_working:
                self._attach_exits(order)
        elif isinstance(event, OrderAccepted):
            order.apply_accepted(event.venue_order_id, ts)
        elif isinstance(event, OrderRejected):
            order.apply_rejected(ts)
        elif isinstance(event, OrderTriggered):
            order.apply_triggered(ts)
        elif isinstance(event, OrderCanceled):
            order.apply_canceled(ts)
        elif isinstance(event, OrderExpired):
            order.apply_expired(ts)
        self.bus.publish(TOPIC_ORDER_EVENTS, event)

    def _attach_exits(self, entry: Order) -> None:
        """Place the entry's stop-loss and take-profit as one-cancels-other exits."""
        stop_loss, take_profit = self._levels.pop(entry.client_order_id)
        assert entry.avg_px is not None
        exit_side = OrderSide.SELL if entry.side is OrderSide.BUY else OrderSide.BUY
        direction = Decimal(entry.side.sign)
        for suffix, level, sign in (("SL", stop_loss, -direction), ("TP", take_profit, direction)):
            if level is None:
                continue
            price = level.price if level.price is not None else (
                entry.avg_px * (1 + sign * level.offset)  # type: ignore[operator]
            )
            is_stop = suffix == "SL"
            child = SubmitOrder(
                client_order_id=f"{entry.client_order_id}-{suffix}",
                strategy_id=entry.strategy_id,
                instrument_id=entry.instrument_id,
                side=exit_side,
                type=OrderType.STOP_MARKET if is_stop else OrderType.LIMIT,
                quantity=entry.filled_qty,
                trigger_price=price if is_stop else None,
                price=None if is_stop else price,
                reduce_only=True,
            )
            self._submit(child, parent_id=entry.client_order_id)
