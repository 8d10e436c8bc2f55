"""Signed REST endpoints: orders, account, trades, and the legacy listenKey management.

Parameter rules and error codes follow Binance's spot docs (``POST /api/v3/order`` mandatory
parameters per type, -1102/-1106/-1115/-1116/-1117 for malformed requests, -2010 for orders the
matching engine refuses, -2011 for unknown cancels, -2013 for unknown queries).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Route

from adapters.exchanges.fake_venue.orders import (
    ORDER_TYPES,
    NewOrder,
    VenueOrder,
    new_client_order_id,
)
from adapters.exchanges.fake_venue.rest_common import Ctx, endpoint
from adapters.exchanges.fake_venue.wire import VenueError

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_NEEDS: dict[str, tuple[str, ...]] = {
    "LIMIT": ("timeInForce", "price", "quantity"),
    "LIMIT_MAKER": ("price", "quantity"),
    "MARKET": (),
    "STOP_LOSS": ("quantity", "stopPrice"),
    "TAKE_PROFIT": ("quantity", "stopPrice"),
    "STOP_LOSS_LIMIT": ("timeInForce", "price", "quantity", "stopPrice"),
    "TAKE_PROFIT_LIMIT": ("timeInForce", "price", "quantity", "stopPrice"),
}
_OPTIONAL = ("timeInForce", "price", "quantity", "quoteOrderQty", "stopPrice")


def _not_required(name: str) -> VenueError:
    return VenueError(-1106, f"Parameter '{name}' sent when not required.")


def _client_id(ctx: Ctx, name: str) -> str | None:
    value = ctx.get(name)
    if value is not None and not _CLIENT_ID.match(value):
        raise VenueError(-1100, f"Illegal characters found in parameter '{name}'; legal range "
                                f"is '{_CLIENT_ID.pattern}'.")
    return value


def parse_new_order(ctx: Ctx) -> NewOrder:
    """Validate a ``POST /api/v3/order`` request into a ``NewOrder``."""
    symbol = ctx.symbol()
    side = ctx.need("side")
    if side not in ("BUY", "SELL"):
        raise VenueError(-1117, "Invalid side.")
    order_type = ctx.need("type")
    if order_type not in ORDER_TYPES:
        raise VenueError(-1116, "Invalid orderType.")
    for unsupported, what in (("icebergQty", "Iceberg orders"),
                              ("trailingDelta", "Trailing stop orders")):
        if ctx.get(unsupported):
            raise VenueError(-2010, f"{what} are not supported for this symbol.")
    needs = _NEEDS[order_type]
    for name in needs:
        ctx.need(name)
    for name in _OPTIONAL:
        allowed = name in needs or (order_type == "MARKET" and name in ("quantity",
                                                                         "quoteOrderQty"))
        if ctx.get(name) is not None and not allowed:
            raise _not_required(name)
    if order_type == "MARKET":
        if ctx.get("quantity") is None and ctx.get("quoteOrderQty") is None:
            raise VenueError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both "
                                    "were empty/null!")
        if ctx.get("quantity") is not None and ctx.get("quoteOrderQty") is not None:
            raise _not_required("quoteOrderQty")
    tif = ctx.get("timeInForce")
    if tif is not None and tif not in ("GTC", "IOC", "FOK"):
        raise VenueError(-1115, "Invalid timeInForce.")
    response_type = ctx.get("newOrderRespType") or (
        "FULL" if order_type in ("MARKET", "LIMIT") else "ACK")
    if response_type not in ("ACK", "RESULT", "FULL"):
        raise VenueError(-1130, "Data sent for parameter 'newOrderRespType' is not valid.")
    values = {name: ctx.decimal_or_none(name) for name in
              ("quantity", "quoteOrderQty", "price", "stopPrice")}
    for name, value in values.items():
        if value is not None and value <= 0:
            what = "price" if name in ("price", "stopPrice") else "quantity"
            raise VenueError(-1013, f"Invalid {what}.")
    return NewOrder(
        symbol=symbol, side=side, type=order_type, time_in_force=tif,
        quantity=values["quantity"], quote_order_qty=values["quoteOrderQty"],
        price=values["price"], stop_price=values["stopPrice"],
        client_order_id=_client_id(ctx, "newClientOrderId") or new_client_order_id(),
        response_type=response_type)


@endpoint(1, "SIGNED")
def new_order(ctx: Ctx) -> dict[str, Any]:
    """Place an order (``POST /api/v3/order``)."""
    venue = ctx.venue
    req = parse_new_order(ctx)
    account = ctx.signed_account
    count = venue.order_counter.count(account.api_key)
    order = venue.engine.place(account, req)
    venue.orders_today += 1
    ctx.headers["X-MBX-ORDER-COUNT-10S"] = str(count)
    ctx.headers["X-MBX-ORDER-COUNT-1D"] = str(venue.orders_today)
    if req.response_type == "ACK":
        return order.ack()
    return order.result(full=req.response_type == "FULL")


def _lookup(ctx: Ctx) -> tuple[str, int | None, str | None]:
    symbol = ctx.symbol()
    order_id = ctx.int_or_none("orderId")
    client_id = ctx.get("origClientOrderId")
    if order_id is None and client_id is None:
        raise VenueError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both "
                                "were empty/null!")
    return symbol, order_id, client_id


@endpoint(4, "SIGNED")
def query_order(ctx: Ctx) -> dict[str, Any]:
    """Return one order (``GET /api/v3/order``)."""
    symbol, order_id, client_id = _lookup(ctx)
    order = ctx.venue.engine.find(ctx.signed_account, symbol, order_id, client_id)
    if order is None:
        raise VenueError(-2013, "Order does not exist.")
    return order.query()


@endpoint(1, "SIGNED")
def cancel_order(ctx: Ctx) -> dict[str, Any]:
    """Cancel an open order (``DELETE /api/v3/order``)."""
    symbol, order_id, client_id = _lookup(ctx)
    return ctx.venue.engine.cancel(ctx.signed_account, symbol, order_id, client_id,
                                   _client_id(ctx, "newClientOrderId"))


@endpoint(lambda ctx: 6 if ctx.get("symbol") else 80, "SIGNED")
def open_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """Return open orders of one symbol or all (``GET /api/v3/openOrders``)."""
    symbol = ctx.optional_symbol()
    return [o.query() for o in ctx.venue.engine.open_orders(ctx.signed_account, symbol)]


@endpoint(1, "SIGNED")
def cancel_open_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """Cancel every open order on a symbol (``DELETE /api/v3/openOrders``)."""
    symbol = ctx.symbol()
    engine = ctx.venue.engine
    orders = engine.open_orders(ctx.signed_account, symbol)
    if not orders:
        raise VenueError(-2011, "Unknown order sent.")
    return [engine.cancel(ctx.signed_account, symbol, o.order_id, None, None) for o in orders]


def _window(ctx: Ctx, rows: list[Any], times: list[int], ids: list[int], id_param: str
            ) -> list[Any]:
    limit = ctx.int_or_none("limit") or 500
    if not 1 <= limit <= 1000:
        raise VenueError(-1130, "Data sent for parameter 'limit' is not valid.")
    start, end = ctx.int_or_none("startTime"), ctx.int_or_none("endTime")
    from_id = ctx.int_or_none(id_param)
    picked = [row for row, t, i in zip(rows, times, ids, strict=True)
              if (from_id is None or i >= from_id) and (start is None or t >= start)
              and (end is None or t <= end)]
    return picked[:limit] if (from_id is not None or start is not None) else picked[-limit:]


@endpoint(20, "SIGNED")
def all_orders(ctx: Ctx) -> list[dict[str, Any]]:
    """Return the account's orders on a symbol (``GET /api/v3/allOrders``)."""
    orders: list[VenueOrder] = ctx.venue.engine.all_orders(ctx.signed_account, ctx.symbol())
    return _window(ctx, [o.query() for o in orders], [o.time for o in orders],
                   [o.order_id for o in orders], "orderId")


@endpoint(20, "SIGNED")
def my_trades(ctx: Ctx) -> list[dict[str, Any]]:
    """Return the account's fills on a symbol (``GET /api/v3/myTrades``)."""
    symbol = ctx.symbol()
    fills = ctx.venue.engine.my_trades(ctx.signed_account, symbol)
    order_id = ctx.int_or_none("orderId")
    if order_id is not None:
        fills = [(o, f) for o, f in fills if o.order_id == order_id]
    return _window(ctx, [o.my_trade(f) for o, f in fills], [f.time for _, f in fills],
                   [f.trade_id for _, f in fills], "fromId")


@endpoint(20, "SIGNED")
def account(ctx: Ctx) -> dict[str, Any]:
    """Return balances and permissions (``GET /api/v3/account``)."""
    info = ctx.signed_account.account_info(ctx.venue.now_ms())
    if ctx.get("omitZeroBalances") == "true":
        info["balances"] = ctx.signed_account.rest_balances(omit_zero=True)
    return info


@endpoint(2, "API_KEY")
def user_data_stream(ctx: Ctx) -> dict[str, Any]:
    """Create (POST), keep alive (PUT) or close (DELETE) a legacy listenKey."""
    users = ctx.venue.users
    method = ctx.request.method
    if method == "POST":
        return {"listenKey": users.create(ctx.signed_account)}
    key = ctx.need("listenKey")
    if method == "PUT":
        users.keepalive(ctx.signed_account, key)
    else:
        users.close(ctx.signed_account, key)
    return {}


ROUTES = [
    Route("/api/v3/order", new_order, methods=["POST"]),
    Route("/api/v3/order", query_order, methods=["GET"]),
    Route("/api/v3/order", cancel_order, methods=["DELETE"]),
    Route("/api/v3/openOrders", open_orders, methods=["GET"]),
    Route("/api/v3/openOrders", cancel_open_orders, methods=["DELETE"]),
    Route("/api/v3/allOrders", all_orders, methods=["GET"]),
    Route("/api/v3/myTrades", my_trades, methods=["GET"]),
    Route("/api/v3/account", account, methods=["GET"]),
    Route("/api/v3/userDataStream", user_data_stream, methods=["POST", "PUT", "DELETE"]),
]
