"""Events: what happened, in the past tense. ``ts_event`` is UTC nanoseconds."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from domain.instruments import InstrumentId
from domain.orders import OrderSide


class Liquidity(StrEnum):
    """Whether a fill added liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


class SignalRaised(msgspec.Struct, frozen=True, kw_only=True):
    """A strategy decided something at ``ts_event``; ``values`` are the indicator values it
    decided on (recorded so a decision can be explained later)."""

    strategy_id: str
    instrument_id: InstrumentId
    name: str
    side: OrderSide | None
    values: dict[str, float]
    ts_event: int


class OrderDenied(msgspec.Struct, frozen=True, kw_only=True):
    """Risk refused a command before it reached the venue; ``reason`` says why."""

    client_order_id: str
    strategy_id: str
    instrument_id: InstrumentId
    reason: str
    ts_event: int


class OrderAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """The venue accepted an order and gave it an id."""

    client_order_id: str
    venue_order_id: str
    ts_event: int


class OrderRejected(msgspec.Struct, frozen=True, kw_only=True):
    """The venue refused an order."""

    client_order_id: str
    reason: str
    ts_event: int


class OrderTriggered(msgspec.Struct, frozen=True, kw_only=True):
    """A stop order's trigger price was reached."""

    client_order_id: str
    ts_event: int


class OrderFilled(msgspec.Struct, frozen=True, kw_only=True):
    """An order (partly) filled: ``last_qty`` at ``last_px``, paying ``fee`` in the quote asset."""

    client_order_id: str
    venue_order_id: str
    trade_id: str
    strategy_id: str
    instrument_id: InstrumentId
    side: OrderSide
    last_qty: Decimal
    last_px: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts_event: int


class OrderCanceled(msgspec.Struct, frozen=True, kw_only=True):
    """An order was cancelled (by request, or because its sibling exit filled)."""

    client_order_id: str
    reason: str
    ts_event: int


class OrderExpired(msgspec.Struct, frozen=True, kw_only=True):
    """An order's time in force ran out."""

    client_order_id: str
    ts_event: int


OrderEvent = (
    OrderAccepted | OrderRejected | OrderTriggered | OrderFilled | OrderCanceled | OrderExpired
)
