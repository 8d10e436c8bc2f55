"""The venue's orders and how Binance renders them (REST answers and ``executionReport``).

Field names and order follow the recorded payloads in ``binance_fixtures/spot`` (``rest/order_*``,
``rest/openOrders_response.json``, ``user_data/executionReport_*``).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from adapters.exchanges.fake_venue.accounts import Account
from adapters.exchanges.fake_venue.wire import ZERO, fmt

ORDER_TYPES: Final = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                      "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
STOP_TYPES: Final = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
LIMIT_PRICED: Final = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
OPEN_STATUSES: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
_ALPHABET = string.ascii_letters + string.digits


def new_client_order_id() -> str:
    """Return a client order id like the 22-character ones Binance generates."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A validated ``POST /api/v3/order`` request."""

    symbol: str
    side: str
    type: str
    time_in_force: str | None
    quantity: Decimal | None
    quote_order_qty: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str
    response_type: str


@dataclass(slots=True)
class Fill:
    """One execution of an order."""

    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    trade_id: int
    maker: bool
    time: int


@dataclass(slots=True)
class VenueOrder:
    """An order as the venue keeps it."""

    account: Account
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    stop_price: Decimal
    time: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_time: int = 0
    working_time: int = -1
    triggered: bool = False
    lock_asset: str = ""
    locked: Decimal = ZERO  # what this order still holds locked
    expiry_reason: str | None = None
    fills: list[Fill] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Return True while the order may still fill or be cancelled."""
        return self.status in OPEN_STATUSES

    @property
    def is_working(self) -> bool:
        """Return True when the order is on the book (a stop only once triggered)."""
        return self.working_time >= 0

    @property
    def remaining(self) -> Decimal:
        """Return the quantity still to fill."""
        return self.orig_qty - self.executed_qty

    def _stop(self) -> dict[str, str]:
        return {"stopPrice": fmt(self.stop_price)} if self.type in STOP_TYPES else {}

    def ack(self) -> dict[str, Any]:
        """Return the ``ACK`` answer to ``POST /api/v3/order``."""
        return {"symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
                "clientOrderId": self.client_order_id, "transactTime": self.time}

    def result(self, full: bool) -> dict[str, Any]:
        """Return the ``RESULT`` (or, with ``full``, ``FULL``) answer to ``POST /api/v3/order``."""
        out = self.ack() | {
            "price": fmt(self.price), "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty), "origQuoteOrderQty": fmt(self.orig_quote_qty),
            "cummulativeQuoteQty": fmt(self.cum_quote), "status": self.status,
            "timeInForce": self.time_in_force, "type": self.type, "side": self.side,
            **self._stop(), "workingTime": self.working_time,
            "selfTradePreventionMode": "NONE",
        }
        if self.expiry_reason:
            out["expiryReason"] = self.expiry_reason
        if full:
            out["fills"] = [{"price": fmt(f.price), "qty": fmt(f.qty),
                             "commission": fmt(f.commission),
                             "commissionAsset": f.commission_asset, "tradeId": f.trade_id}
                            for f in self.fills]
        return out

    def query(self) -> dict[str, Any]:
        """Return the order as ``GET /api/v3/order``, ``openOrders`` and ``allOrders`` list it."""
        out: dict[str, Any] = {
            "symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
            "clientOrderId": self.client_order_id, "price": fmt(self.price),
            "origQty": fmt(self.orig_qty), "executedQty": fmt(self.executed_qty),
            "cummulativeQuoteQty": fmt(self.cum_quote), "status": self.status,
            "timeInForce": self.time_in_force, "type": self.type, "side": self.side,
            "stopPrice": fmt(self.stop_price), "icebergQty": fmt(ZERO), "time": self.time,
            "updateTime": self.update_time, "isWorking": self.is_working,
            "workingTime": self.working_time, "origQuoteOrderQty": fmt(self.orig_quote_qty),
            "selfTradePreventionMode": "NONE",
        }
        if self.expiry_reason:
            out["expiryReason"] = self.expiry_reason
        return out

    def canceled(self, cancel_client_id: str, now: int) -> dict[str, Any]:
        """Return the answer to ``DELETE /api/v3/order`` for this (just cancelled) order."""
        return {"symbol": self.symbol, "origClientOrderId": self.client_order_id,
                "orderId": self.order_id, "orderListId": -1, "clientOrderId": cancel_client_id,
                "transactTime": now, "price": fmt(self.price), "origQty": fmt(self.orig_qty),
                "executedQty": fmt(self.executed_qty),
                "origQuoteOrderQty": fmt(self.orig_quote_qty),
                "cummulativeQuoteQty": fmt(self.cum_quote), "status": self.status,
                "timeInForce": self.time_in_force, "type": self.type, "side": self.side,
                **self._stop(), "selfTradePreventionMode": "NONE"}

    def execution_report(self, exec_type: str, now: int, execution_id: int,
                         fill: Fill | None = None, cancel_client_id: str = "") -> dict[str, Any]:
        """Return the ``executionReport`` event for what just happened to this order."""
        event: dict[str, Any] = {
            "e": "executionReport", "E": now, "s": self.symbol,
            "c": cancel_client_id or self.client_order_id, "S": self.side, "o": self.type,
            "f": self.time_in_force, "q": fmt(self.orig_qty), "p": fmt(self.price),
            "P": fmt(self.stop_price), "F": fmt(ZERO), "g": -1,
            "C": self.client_order_id if cancel_client_id else "", "x": exec_type,
            "X": self.status, "r": "NONE", "i": self.order_id,
            "l": fmt(fill.qty) if fill else fmt(ZERO),
            "z": fmt(self.executed_qty),
            "L": fmt(fill.price) if fill else fmt(ZERO),
            "n": fmt(fill.commission) if fill else "0",
            "N": fill.commission_asset if fill else None,
            "T": now, "t": fill.trade_id if fill else -1, "I": execution_id,
            "w": self.is_open and self.is_working, "m": fill.maker if fill else False,
            "M": fill is not None, "O": self.time, "Z": fmt(self.cum_quote),
            "Y": fmt(fill.price * fill.qty) if fill else fmt(ZERO),
            "Q": fmt(self.orig_quote_qty),
        }
        if self.is_working:
            event["W"] = self.working_time
        event["V"] = "NONE"
        if exec_type == "EXPIRED" and self.expiry_reason:
            event["eR"] = self.expiry_reason
        return event

    def my_trade(self, fill: Fill) -> dict[str, Any]:
        """Return one ``GET /api/v3/myTrades`` row for ``fill``."""
        return {"symbol": self.symbol, "id": fill.trade_id, "orderId": self.order_id,
                "orderListId": -1, "price": fmt(fill.price), "qty": fmt(fill.qty),
                "quoteQty": fmt(fill.price * fill.qty), "commission": fmt(fill.commission),
                "commissionAsset": fill.commission_asset, "time": fill.time,
                "isBuyer": self.side == "BUY", "isMaker": fill.maker, "isBestMatch": True}
