"""The portfolio: cash, positions, realized and unrealized P&L, fees, round trips, equity.

Cash, quantities, fees and P&L are exact ``Decimal``s changed only by fills. Marking to market
happens every bar, so it also keeps a float shadow of equity for the equity curve (statistics
are floats); exact equity is always available from ``equity()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from domain.events import OrderFilled
from domain.fixed import from_raw
from domain.instruments import InstrumentId
from domain.market import Bar
from domain.orders import OrderSide

ZERO = Decimal(0)
_FLOAT_SCALES = [float(10**i) for i in range(19)]


@dataclass(slots=True)
class RoundTrip:
    """One trade from flat to flat: entries, exits, fees and the P&L net of both fees."""

    instrument_id: InstrumentId
    strategy_id: str
    entry_ts: int
    entry_qty: Decimal = ZERO
    entry_cost: Decimal = ZERO
    exit_ts: int | None = None
    exit_qty: Decimal = ZERO
    exit_proceeds: Decimal = ZERO
    fees: Decimal = ZERO
    # With a single fill on a side its price is exact; averages of several are divided out.
    first_entry_px: Decimal | None = None
    first_exit_px: Decimal | None = None
    entry_fills: int = 0
    exit_fills: int = 0

    @property
    def is_closed(self) -> bool:
        """Return True once the position went back to flat."""
        return self.exit_ts is not None

    @property
    def entry_price(self) -> Decimal:
        """Return the average entry price."""
        if self.entry_fills == 1 and self.first_entry_px is not None:
            return self.first_entry_px
        return self.entry_cost / self.entry_qty

    @property
    def exit_price(self) -> Decimal | None:
        """Return the average exit price, or None while open."""
        if self.exit_fills == 1 and self.first_exit_px is not None:
            return self.first_exit_px
        return self.exit_proceeds / self.exit_qty if self.exit_qty else None

    def pnl(self, mark: Decimal | None = None) -> Decimal:
        """Return the P&L net of fees; an open trip is marked to ``mark`` without an exit fee."""
        held = self.entry_qty - self.exit_qty
        marked = held * mark if held and mark is not None else ZERO
        return self.exit_proceeds + marked - self.entry_cost - self.fees


@dataclass(slots=True)
class Position:
    """What is held of one instrument."""

    instrument_id: InstrumentId
    qty: Decimal = ZERO
    avg_px: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    trip: RoundTrip | None = None
    qty_f: float = 0.0

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        """Return the gain of the open quantity at ``mark`` against the average entry."""
        return self.qty * (mark - self.avg_px)


@dataclass(slots=True)
class Portfolio:
    """A cash account in one quote currency."""

    currency: str
    initial_cash: Decimal
    cash: Decimal = field(init=False)
    fees_paid: Decimal = field(init=False, default=ZERO)
    positions: dict[InstrumentId, Position] = field(init=False, default_factory=dict)
    round_trips: list[RoundTrip] = field(init=False, default_factory=list)
    last_equity: float = field(init=False)
    peak_equity: float = field(init=False)
    _cash_f: float = field(init=False)
    open_positions: list[Position] = field(init=False, default_factory=list)
    _last_bars: dict[InstrumentId, Bar] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.cash = self.initial_cash
        self._cash_f = float(self.initial_cash)
        self.last_equity = self.peak_equity = self._cash_f

    # -- PortfolioView ----------------------------------------------------------------------
    def position_qty(self, instrument_id: InstrumentId) -> Decimal:
        """Return the quantity held (0 when flat)."""
        position = self.positions.get(instrument_id)
        return position.qty if position is not None else ZERO

    def last_price(self, instrument_id: InstrumentId) -> Decimal | None:
        """Return the last close seen for the instrument."""
        bar = self._last_bars.get(instrument_id)
        return None if bar is None else from_raw(bar.close, bar.price_precision)

    def equity(self) -> Decimal:
        """Return cash plus every open position at its last price, exactly."""
        total = self.cash
        for position in self.open_positions:
            bar = self._last_bars[position.instrument_id]
            total += position.qty * from_raw(bar.close, bar.price_precision)
        return total

    @property
    def has_position(self) -> bool:
        """Return True while any position is open."""
        return bool(self.open_positions)

    # -- updates ----------------------------------------------------------------------------
    def apply_fill(self, fill: OrderFilled) -> None:
        """Move cash and position by one fill and book it into the round trip."""
        qty, px, fee = fill.last_qty, fill.last_px, fill.fee
        position = self.positions.get(fill.instrument_id)
        if position is None:
            position = self.positions[fill.instrument_id] = Position(fill.instrument_id)
        notional = qty * px
        self.fees_paid += fee
        position.fees += fee
        if fill.side is OrderSide.BUY:
            self.cash -= notional + fee
            new_qty = position.qty + qty
            position.avg_px = (position.avg_px * position.qty + notional) / new_qty
            position.qty = new_qty
            if position.trip is None:
                position.trip = RoundTrip(fill.instrument_id, fill.strategy_id, fill.ts_event)
                self.round_trips.append(position.trip)
            trip = position.trip
            trip.entry_qty += qty
            trip.entry_cost += notional
            trip.entry_fills += 1
            if trip.first_entry_px is None:
                trip.first_entry_px = px
        else:
            self.cash += notional - fee
            position.realized_pnl += qty * (px - position.avg_px)
            position.qty -= qty
            if position.trip is not None:
                trip = position.trip
                trip.exit_qty += qty
                trip.exit_proceeds += notional
                trip.exit_fills += 1
                if trip.first_exit_px is None:
                    trip.first_exit_px = px
        position.realized_pnl -= fee
        if position.trip is not None:
            position.trip.fees += fee
        self._cash_f = float(self.cash)
        position.qty_f = float(position.qty)
        if position.qty == 0:
            position.avg_px = ZERO
            if position.trip is not None:
                position.trip.exit_ts = fill.ts_event
                position.trip = None
            if position in self.open_positions:
                self.open_positions.remove(position)
            if not self.open_positions and self._cash_f > self.peak_equity:
                self.peak_equity = self._cash_f
        elif position not in self.open_positions:
            self.open_positions.append(position)

    def mark(self, bar: Bar) -> float:
        """Mark the bar's instrument to its close; return the (float) equity."""
        last_bars = self._last_bars
        last_bars[bar.instrument_id] = bar
        if not self.open_positions:
            # Flat: equity is cash, and the peak was already updated when the cash moved.
            self.last_equity = equity = self._cash_f
            return equity
        equity = self._cash_f
        for held in self.open_positions:
            last = last_bars[held.instrument_id]
            equity += held.qty_f * last.close / _FLOAT_SCALES[last.price_precision]
        self.last_equity = equity
        if equity > self.peak_equity:  # noqa: PLR1730 - a compare is cheaper than max() per bar
            self.peak_equity = equity
        return equity
