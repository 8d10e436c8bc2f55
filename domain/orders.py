"""Orders and their state machine.

An ``Order`` is created by the kernel from an approved ``SubmitOrder``; afterwards only venue
events move it, through ``Order.apply_*`` methods that raise ``InvalidOrderTransition`` on any
move the table below does not allow. Quantities and prices are exact ``Decimal``s.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from domain.errors import InvalidOrderTransition, InvalidValue
from domain.instruments import InstrumentId


class OrderSide(StrEnum):
    """Buy or sell."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for buys and -1 for sells."""
        return 1 if self is OrderSide.BUY else -1


class OrderType(StrEnum):
    """How the order meets the market."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    """How long an order works: good till cancelled, immediate or cancel, fill or kill."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    """Where an order is in its life."""

    INITIALIZED = "initialized"
    DENIED = "denied"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TRIGGERED = "triggered"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    EXPIRED = "expired"


_S = OrderStatus
_WORKING = {_S.ACCEPTED, _S.TRIGGERED, _S.PARTIALLY_FILLED, _S.PENDING_CANCEL}
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.INITIALIZED: frozenset({_S.DENIED, _S.SUBMITTED}),
    # A venue may answer a submission with a fill straight away (market orders).
    _S.SUBMITTED: frozenset({_S.ACCEPTED, _S.REJECTED, _S.PARTIALLY_FILLED, _S.FILLED,
                             _S.CANCELED, _S.EXPIRED}),
    _S.ACCEPTED: frozenset({_S.TRIGGERED, _S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL,
                            _S.CANCELED, _S.EXPIRED}),
    _S.TRIGGERED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELED,
                             _S.EXPIRED}),
    _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL,
                                    _S.CANCELED, _S.EXPIRED}),
    # A fill can race a cancel request: the venue reports whichever happened first.
    _S.PENDING_CANCEL: frozenset({_S.CANCELED, _S.PARTIALLY_FILLED, _S.FILLED, _S.EXPIRED}),
    _S.DENIED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.EXPIRED: frozenset(),
}


class Order:
    """A working order: what was asked, what the venue did, and its status."""

    __slots__ = (
        "avg_px",
        "client_order_id",
        "fees",
        "filled_qty",
        "instrument_id",
        "parent_id",
        "price",
        "quantity",
        "quote_amount",
        "reduce_only",
        "side",
        "status",
        "strategy_id",
        "time_in_force",
        "trigger_price",
        "ts_init",
        "ts_last",
        "type",
        "venue_order_id",
    )

    def __init__(
        self,
        client_order_id: str,
        strategy_id: str,
        instrument_id: InstrumentId,
        side: OrderSide,
        type: OrderType,
        quantity: Decimal | None,
        ts_init: int,
        quote_amount: Decimal | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        parent_id: str | None = None,
    ) -> None:
        _check_order_shape(type, quantity, quote_amount, price, trigger_price)
        if not client_order_id:
            raise InvalidValue("an order needs a client order id")
        self.client_order_id = client_order_id
        self.strategy_id = strategy_id
        self.instrument_id = instrument_id
        self.side = side
        self.type = type
        self.quantity = quantity
        self.quote_amount = quote_amount
        self.price = price
        self.trigger_price = trigger_price
        self.time_in_force = time_in_force
        self.reduce_only = reduce_only
        self.parent_id = parent_id
        self.ts_init = ts_init
        self.ts_last = ts_init
        self.status = OrderStatus.INITIALIZED
        self.venue_order_id: str | None = None
        self.filled_qty = Decimal(0)
        self.avg_px: Decimal | None = None
        self.fees = Decimal(0)

    @property
    def is_working(self) -> bool:
        """Return True while the venue may still fill the order."""
        return self.status in _WORKING

    @property
    def is_closed(self) -> bool:
        """Return True once the order can change no more."""
        return not TRANSITIONS[self.status]

    @property
    def leaves_qty(self) -> Decimal | None:
        """Return the quantity still to fill (``None`` for an unresolved quote-amount order)."""
        return None if self.quantity is None else self.quantity - self.filled_qty

    def _move(self, to: OrderStatus, ts: int) -> None:
        if to not in TRANSITIONS[self.status]:
            raise InvalidOrderTransition(
                f"order {self.client_order_id}: {self.status} -> {to} is not allowed"
            )
        self.status = to
        self.ts_last = ts

    def apply_denied(self, ts: int) -> None:
        """Record that risk denied the order before it reached the venue."""
        self._move(OrderStatus.DENIED, ts)

    def apply_submitted(self, ts: int) -> None:
        """Record that the order was sent to the venue."""
        self._move(OrderStatus.SUBMITTED, ts)

    def apply_accepted(self, venue_order_id: str, ts: int) -> None:
        """Record that the venue accepted the order and named it."""
        self._move(OrderStatus.ACCEPTED, ts)
        self.venue_order_id = venue_order_id

    def apply_rejected(self, ts: int) -> None:
        """Record that the venue refused the order."""
        self._move(OrderStatus.REJECTED, ts)

    def apply_triggered(self, ts: int) -> None:
        """Record that a stop order's trigger price was reached."""
        if self.type not in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
            raise InvalidOrderTransition(f"order {self.client_order_id} has no trigger")
        self._move(OrderStatus.TRIGGERED, ts)

    def apply_fill(self, qty: Decimal, px: Decimal, fee: Decimal, ts: int) -> None:
        """Record a (partial) fill; a quote-amount order's quantity is resolved by its fill."""
        if qty <= 0 or px <= 0 or fee < 0:
            raise InvalidValue("a fill needs a positive quantity and price and a non-negative fee")
        # A quote-amount market order's quantity is resolved by its one, complete fill.
        quantity = qty if self.quantity is None else self.quantity
        new_filled = self.filled_qty + qty
        if new_filled > quantity:
            raise InvalidOrderTransition(
                f"order {self.client_order_id}: fill of {qty} exceeds the remaining "
                f"{quantity - self.filled_qty}"
            )
        done = new_filled == quantity
        self._move(OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, ts)
        self.quantity = quantity
        prior = self.avg_px * self.filled_qty if self.avg_px is not None else Decimal(0)
        self.avg_px = (prior + px * qty) / new_filled
        self.filled_qty = new_filled
        self.fees += fee

    def apply_pending_cancel(self, ts: int) -> None:
        """Record that a cancel was requested."""
        self._move(OrderStatus.PENDING_CANCEL, ts)

    def apply_canceled(self, ts: int) -> None:
        """Record that the venue cancelled the order."""
        self._move(OrderStatus.CANCELED, ts)

    def apply_expired(self, ts: int) -> None:
        """Record that the order's time in force ran out."""
        self._move(OrderStatus.EXPIRED, ts)

    def __repr__(self) -> str:
        size = f"{self.quantity}" if self.quantity is not None else f"quote {self.quote_amount}"
        return (f"Order({self.client_order_id} {self.side} {self.type} {size} "
                f"{self.instrument_id} {self.status})")


def _check_order_shape(
    type_: OrderType,
    quantity: Decimal | None,
    quote_amount: Decimal | None,
    price: Decimal | None,
    trigger_price: Decimal | None,
) -> None:
    if (quantity is None) == (quote_amount is None):
        raise InvalidValue("an order needs exactly one of quantity and quote_amount")
    if quote_amount is not None and type_ is not OrderType.MARKET:
        raise InvalidValue("only market orders may be sized by a quote amount")
    for name, value in (("quantity", quantity), ("quote_amount", quote_amount),
                        ("price", price), ("trigger_price", trigger_price)):
        if value is not None and (not value.is_finite() or value <= 0):
            raise InvalidValue(f"{name} must be a positive finite decimal, got {value}")
    needs_price = type_ in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_trigger = type_ in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    if needs_price != (price is not None):
        raise InvalidValue(f"a {type_} order {'needs' if needs_price else 'takes no'} price")
    if needs_trigger != (trigger_price is not None):
        raise InvalidValue(f"a {type_} order {'needs' if needs_trigger else 'takes no'} trigger")
