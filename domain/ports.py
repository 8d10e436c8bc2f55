"""Ports: what the kernel needs from the outside, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Protocol

from domain.commands import Command, SubmitOrder
from domain.events import OrderDenied, OrderEvent, OrderFilled, SignalRaised
from domain.instruments import InstrumentId
from domain.market import Bar, Trade
from domain.orders import Order
from domain.series import BarSeries
from domain.timeframes import Timeframe


class Clock(Protocol):
    """The one source of time for the kernel: simulated in backtests, the wall in live."""

    def timestamp_ns(self) -> int:
        """Return the current UTC time in nanoseconds."""
        ...


class MarketFeed(Protocol):
    """A pull feed of bars in time order (historical replay)."""

    def __iter__(self) -> Iterator[Bar]:
        """Yield bars in the order they closed."""
        ...


class EventSink(Protocol):
    """Where a venue reports what happened to orders (the kernel)."""

    def on_order_event(self, event: OrderEvent) -> None:
        """Take one order event."""
        ...


class ExecutionVenue(Protocol):
    """A place orders go: the simulated venue, or an exchange adapter."""

    def bind(self, sink: EventSink) -> None:
        """Report order events to ``sink`` from now on."""
        ...

    def on_bar(self, bar: Bar) -> None:
        """Let a venue that matches against bars (the simulated one) see a closed bar."""
        ...

    def submit(self, order: Order) -> None:
        """Send an order; the venue answers through the event sink."""
        ...

    def cancel(self, order: Order) -> None:
        """Ask the venue to cancel a working order."""
        ...


class PortfolioView(Protocol):
    """What strategies and risk rules may read of the account (read-only)."""

    @property
    def cash(self) -> Decimal:
        """Return the free cash in the quote currency."""
        ...

    def equity(self) -> Decimal:
        """Return cash plus open positions marked to their last price."""
        ...

    @property
    def peak_equity(self) -> float:
        """Return the highest bar-close equity seen so far."""
        ...

    @property
    def last_equity(self) -> float:
        """Return the equity at the last bar close."""
        ...

    def position_qty(self, instrument_id: InstrumentId) -> Decimal:
        """Return the signed quantity held (0 when flat)."""
        ...

    def last_price(self, instrument_id: InstrumentId) -> Decimal | None:
        """Return the last close seen for an instrument."""
        ...


class BarStore(Protocol):
    """Stored candles by instrument and timeframe (``adapters.storage.candles.CandleStore``)."""

    async def load_bars(
        self, instrument_id: InstrumentId, timeframe: Timeframe,
        start_ns: int | None = None, end_ns: int | None = None,
    ) -> BarSeries:
        """Return the bars in ``[start_ns, end_ns)`` in time order."""
        ...

    async def copy_candles(self, series: BarSeries) -> int:
        """Store bars, ignoring ones already stored; return how many were new."""
        ...


class StrategyContext(Protocol):
    """What the kernel hands a strategy: the time, the account (read-only) and order ids."""

    @property
    def portfolio(self) -> PortfolioView:
        """Return the account, read-only."""
        ...

    def timestamp_ns(self) -> int:
        """Return the kernel's current time."""
        ...

    def next_client_order_id(self) -> str:
        """Return a new client order id, deterministic within a run."""
        ...

    def record_signal(self, signal: SignalRaised) -> None:
        """Record a decision with the indicator values behind it."""
        ...


class StrategyPort(Protocol):
    """A strategy as the kernel sees it: handlers in, commands out."""

    strategy_id: str
    instrument_ids: tuple[InstrumentId, ...]

    def on_start(self, context: StrategyContext) -> None:
        """Receive the context before the first event."""
        ...

    def on_bar(self, bar: Bar) -> Sequence[Command] | None:
        """Handle a closed bar; return the commands it leads to."""
        ...

    def on_trade(self, trade: Trade) -> Sequence[Command] | None:
        """Handle an exchange trade of a subscribed instrument; return the commands."""
        ...

    def on_order_filled(self, event: OrderFilled) -> None:
        """Learn of a fill of one of this strategy's orders."""
        ...


class RiskGate(Protocol):
    """The risk engine as the kernel sees it: a command in, a command or a denial out."""

    @property
    def follows_bars(self) -> bool:
        """Return True when ``on_bar_close`` must run (the kernel skips it otherwise)."""
        ...

    def check(
        self, command: SubmitOrder, portfolio: PortfolioView, ts_event: int
    ) -> SubmitOrder | OrderDenied:
        """Size and check an order; return the approved command or the reason it is denied."""
        ...

    def on_bar_close(self, portfolio: PortfolioView, ts_event: int) -> None:
        """Update state that follows equity bar by bar (drawdown halts)."""
        ...
