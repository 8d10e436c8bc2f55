"""The exact ledger of a fast-path run: the kernel's Decimal arithmetic, fill by fill.

Given the bars where ``ma_crossover`` crossed, ``exact_ledger`` sizes and fills the orders with
the risk gate's, the venue's and the portfolio's own arithmetic (same contexts, same operation
order), so its round trips, fees and final equity are the kernel's, digit for digit. It runs
once per fill (thousands of times per config on a year of minutes); the fast path calls it only
when round trips are asked for, or when its float accounting cannot be proved to take the same
decisions (``research.fastpath``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Context, Decimal
from typing import Any, overload

import numpy as np

from domain.events import Liquidity
from domain.fixed import from_raw
from domain.orders import OrderSide
from engine.models import FeeModel, SlippageModel
from engine.portfolio import RoundTrip
from research.bars import BarFrame
from research.settings import SweepSettings

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# The venue's contexts (engine/venue.py): quantities round down, cost checks are exact.
_ROUND_DOWN = Context(rounding=ROUND_DOWN)
_WIDE = Context(prec=100)


@dataclass(slots=True)
class Ledger:
    """The account after every fill, and each round trip's fill values (Decimal)."""

    fill_bars: list[int]  # the bar each fill happened at (its open)
    cash_f: list[float]  # the portfolio's float shadow of cash after each fill
    qty_f: list[float]
    # (entry bar, qty, entry px, entry notional, entry fee, exit bar or -1, exit px, exit
    # notional, fees of the trip): RoundTrip objects are built from these when asked for.
    trips: list[tuple[Any, ...]]
    closed_pnl: list[float]
    cash: Decimal
    qty: Decimal
    fees_paid: Decimal

    def final_equity(self, last_close: int, precision: int) -> Decimal:
        """Return cash plus the position at the last close, exactly (``Portfolio.equity``)."""
        if self.qty == 0:
            return self.cash
        return self.cash + self.qty * from_raw(last_close, precision)


def exact_ledger(up: np.ndarray, down: np.ndarray, bars: BarFrame,
                 settings: SweepSettings) -> Ledger:
    """Run the crossing decisions through sizing, venue and portfolio arithmetic, in order.

    ``up``/``down`` are the bars whose close crossed above/below; the orders they lead to
    fill at the next bar's open, as in the kernel.
    """
    n = len(bars)
    book = _Book(bars, settings)
    decided = np.concatenate((up, down))
    order = np.argsort(decided, kind="stable")
    opens = bars.column("open")
    for t, k in zip(decided[order].tolist(), order.tolist(), strict=True):
        if t >= n - 1:
            break  # decided at the last close: the kernel's order never fills
        if k < len(up):
            book.buy(t + 1, int(opens[t + 1]))
        else:
            book.sell(t + 1, int(opens[t + 1]))
    return book.ledger


class _Book:
    """Cash and position, changed by fills exactly as the gate, venue and portfolio do.

    Where the kernel adds a Decimal to zero (``ZERO + x``) the value is already within the
    context's precision, so the addition is left out: it cannot change the value.
    """

    def __init__(self, bars: BarFrame, settings: SweepSettings) -> None:
        self._pp = bars.price_precision
        self._rate = FeeModel.flat(settings.fee_bps).rate(Liquidity.TAKER)
        self._slippage = SlippageModel(settings.slippage_bps)
        self._percent = settings.position_pct
        self._entry: tuple[Any, ...] = ()
        self.ledger = Ledger([], [], [], [], [], settings.initial_cash, ZERO, ZERO)

    def buy(self, bar: int, open_raw: int) -> None:
        """Size (percent of equity; flat, equity is cash) and fill a market buy."""
        book = self.ledger
        if book.qty:
            return  # the strategy buys only when flat
        cash = book.cash
        budget = min(cash * self._percent / HUNDRED, cash)  # risk.sizing.PercentOfEquity
        if budget <= 0:
            return  # denied by the risk gate
        price = self._slippage.apply(from_raw(open_raw, self._pp), OrderSide.BUY)
        rate = self._rate
        qty = _ROUND_DOWN.divide(min(budget, cash), price * (1 + rate))
        if qty <= 0 or _WIDE.multiply(_WIDE.multiply(qty, price), _WIDE.add(1, rate)) > cash:
            return  # cancelled by the venue: insufficient funds
        notional = qty * price
        fee = notional * rate
        book.cash = cash - (notional + fee)
        book.qty = qty
        book.fees_paid += fee
        self._entry = (bar, qty, price, notional, fee)
        book.trips.append((*self._entry, -1, None, ZERO, ZERO))
        self._filled(bar)

    def sell(self, bar: int, open_raw: int) -> None:
        """Fill a reduce-only market sell of everything held."""
        book = self.ledger
        qty = book.qty
        if not qty:
            return  # the strategy sells only what it holds
        price = self._slippage.apply(from_raw(open_raw, self._pp), OrderSide.SELL)
        notional = qty * price
        fee = notional * self._rate
        book.cash += notional - fee
        book.fees_paid += fee
        entry = self._entry
        trip_fees = entry[4] + fee
        book.trips[-1] = (*entry, bar, price, notional, trip_fees)
        # RoundTrip.pnl of a closed trip: exit proceeds (+ 0) - entry cost - fees.
        book.closed_pnl.append(float(notional - entry[3] - trip_fees))
        book.qty = ZERO
        self._filled(bar)

    def _filled(self, bar: int) -> None:
        # The portfolio's float shadow after the fill: what marks equity from this bar on.
        book = self.ledger
        book.fill_bars.append(bar)
        book.cash_f.append(float(book.cash))
        book.qty_f.append(float(book.qty))


class LazyRoundTrips(Sequence[RoundTrip]):
    """Round trips as ``engine.portfolio.RoundTrip``s, from the exact ledger, on first access.

    A sweep usually wants only the figures: the ledger (and thousands of dataclass objects
    per config) would cost more than the vectorised part of the run.
    """

    def __init__(self, count: int, ledger: Callable[[], Ledger], bars: BarFrame,
                 strategy_id: str) -> None:
        """Hold what is needed to build the trips; ``count`` is known without building."""
        self._count = count
        self._ledger = ledger
        self._bars = bars
        self._strategy_id = strategy_id
        self._built: list[RoundTrip] | None = None

    def _all(self) -> list[RoundTrip]:
        if self._built is None:
            trips = self._ledger().trips
            if len(trips) != self._count:
                raise AssertionError(f"ledger has {len(trips)} trips, expected {self._count}")
            ts = self._bars.column("ts_open")
            self._built = [self._build(trip, ts) for trip in trips]
        return self._built

    def _build(self, trip: tuple[Any, ...], ts: np.ndarray) -> RoundTrip:
        entry_bar, qty, entry_px, cost, entry_fee, exit_bar, exit_px, proceeds, fees = trip
        closed = exit_bar >= 0
        return RoundTrip(
            self._bars.instrument_id, self._strategy_id, int(ts[entry_bar]), entry_qty=qty,
            entry_cost=cost, exit_ts=int(ts[exit_bar]) if closed else None,
            exit_qty=qty if closed else ZERO, exit_proceeds=proceeds,
            fees=fees if closed else entry_fee, first_entry_px=entry_px,
            first_exit_px=exit_px, entry_fills=1, exit_fills=1 if closed else 0)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> RoundTrip: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RoundTrip]: ...

    def __getitem__(self, index: int | slice) -> RoundTrip | Sequence[RoundTrip]:
        return self._all()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
