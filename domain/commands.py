"""Commands: what a strategy or an operator asks for, in the imperative."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from domain.orders import OrderSide, OrderType, TimeInForce


class Level(msgspec.Struct, frozen=True, kw_only=True):
    """A protective exit level: an absolute price, or a fraction away from the entry fill price.

    ``Level(offset=Decimal("0.02"))`` on a long entry means 2% below the fill for a stop-loss
    and 2% above it for a take-profit; it is resolved when the entry fills.
    """

    price: Decimal | None = None
    offset: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.price is None) == (self.offset is None):
            raise InvalidValue("a level needs exactly one of price and offset")
        value = self.price if self.price is not None else self.offset
        if value is None or not value.is_finite() or value <= 0:
            raise InvalidValue(f"a level must be a positive finite decimal, got {value}")
        if self.offset is not None and self.offset >= 1:
            raise InvalidValue(f"an offset is a fraction below 1, got {self.offset}")


class SubmitOrder(msgspec.Struct, frozen=True, kw_only=True):
    """Ask for an order.

    Give ``quantity`` (base units), or ``quote_amount`` (market orders: spend this much quote,
    fees included; the quantity is resolved at the fill), or neither: then the account's sizing
    policy in the risk gate decides. ``stop_loss``/``take_profit`` attach protective exits that
    the venue holds once the entry has filled.
    """

    client_order_id: str
    strategy_id: str
    instrument_id: InstrumentId
    side: OrderSide
    type: OrderType = OrderType.MARKET
    quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    stop_loss: Level | None = None
    take_profit: Level | None = None

    @property
    def is_sized(self) -> bool:
        """Return True when the command says how much to trade."""
        return self.quantity is not None or self.quote_amount is not None


class CancelOrder(msgspec.Struct, frozen=True, kw_only=True):
    """Ask to cancel one working order."""

    client_order_id: str
    strategy_id: str
    instrument_id: InstrumentId


class CancelAllOrders(msgspec.Struct, frozen=True, kw_only=True):
    """Ask to cancel every working order of a strategy on an instrument."""

    strategy_id: str
    instrument_id: InstrumentId


Command = SubmitOrder | CancelOrder | CancelAllOrders
