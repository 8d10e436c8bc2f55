"""The order state machine (domain.orders.TRANSITIONS) driven through Order.apply_*."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidOrderTransition, InvalidValue
from domain.instruments import InstrumentId
from domain.orders import TRANSITIONS, Order, OrderSide, OrderStatus, OrderType

S = OrderStatus
IID = InstrumentId.parse("BINANCE:BTC/USDT")
QTY = Decimal(10)


def _order(type_=OrderType.STOP_MARKET, quantity=QTY, quote_amount=None, price=None,
           trigger_price=Decimal(90), coid="o-1"):
    return Order(client_order_id=coid, strategy_id="s", instrument_id=IID, side=OrderSide.BUY,
                 type=type_, quantity=quantity, ts_init=0, quote_amount=quote_amount,
                 price=price, trigger_price=trigger_price)


# How to bring a stop-market order for 10 to each status from INITIALIZED.
_PATHS: dict[OrderStatus, list[str]] = {
    S.INITIALIZED: [],
    S.DENIED: ["denied"],
    S.SUBMITTED: ["submitted"],
    S.ACCEPTED: ["submitted", "accepted"],
    S.REJECTED: ["submitted", "rejected"],
    S.TRIGGERED: ["submitted", "accepted", "triggered"],
    S.PARTIALLY_FILLED: ["submitted", "accepted", "partial"],
    S.FILLED: ["submitted", "full"],
    S.PENDING_CANCEL: ["submitted", "accepted", "pending_cancel"],
    S.CANCELED: ["submitted", "canceled"],
    S.EXPIRED: ["submitted", "expired"],
}


def _do(order: Order, step: str, ts: int) -> None:
    """Apply one named event; 'partial' fills 1, 'full' fills what is left (or 10 if none)."""
    if step == "partial":
        order.apply_fill(Decimal(1), Decimal(100), Decimal("0.1"), ts)
    elif step == "full":
        leaves = order.leaves_qty if order.leaves_qty else QTY
        order.apply_fill(leaves, Decimal(100), Decimal("0.1"), ts)
    elif step == "accepted":
        order.apply_accepted("v-1", ts)
    else:
        getattr(order, f"apply_{step}")(ts)


# The event that moves an order to each status.
_EVENT_TO: dict[OrderStatus, str] = {
    S.DENIED: "denied", S.SUBMITTED: "submitted", S.ACCEPTED: "accepted",
    S.REJECTED: "rejected", S.TRIGGERED: "triggered", S.PARTIALLY_FILLED: "partial",
    S.FILLED: "full", S.PENDING_CANCEL: "pending_cancel", S.CANCELED: "canceled",
    S.EXPIRED: "expired",
}


def _order_in(status: OrderStatus) -> Order:
    order = _order()
    for ts, step in enumerate(_PATHS[status], start=1):
        _do(order, step, ts)
    assert order.status is status
    return order


def _snapshot(order: Order) -> dict[str, object]:
    return {name: getattr(order, name) for name in Order.__slots__}


LEGAL = sorted((src, dst) for src, targets in TRANSITIONS.items() for dst in targets)
ILLEGAL = sorted((src, dst) for src in TRANSITIONS for dst in _EVENT_TO
                 if dst not in TRANSITIONS[src])


def test_the_table_covers_every_status():
    assert set(TRANSITIONS) == set(OrderStatus)
    assert set(_PATHS) == set(OrderStatus)


@pytest.mark.parametrize(("src", "dst"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_legal_transition_works(src, dst):
    # Arrange
    order = _order_in(src)

    # Act
    _do(order, _EVENT_TO[dst], ts=99)

    # Assert
    assert order.status is dst
    assert order.ts_last == 99


@pytest.mark.parametrize(("src", "dst"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_raises_and_changes_nothing(src, dst):
    # Arrange
    order = _order_in(src)
    before = _snapshot(order)

    # Act / Assert
    with pytest.raises(InvalidOrderTransition):
        _do(order, _EVENT_TO[dst], ts=99)
    assert _snapshot(order) == before


@pytest.mark.parametrize(("setup", "event"), [
    (["submitted", "canceled"], "partial"),                 # fill after cancel
    (["submitted", "canceled"], "full"),
    (["submitted", "expired"], "full"),                     # fill after expiry
    (["submitted", "full"], "accepted"),                    # accept after fill
    (["submitted", "full"], "canceled"),                    # cancel after fill
    (["submitted", "rejected"], "accepted"),                # accept after reject
    (["denied"], "submitted"),                              # submit after a risk denial
    ([], "accepted"),                                       # accept before submission
    ([], "partial"),                                        # fill before submission
    (["submitted"], "triggered"),                           # trigger before acceptance
    (["submitted", "accepted", "triggered"], "triggered"),  # trigger twice
    (["submitted", "accepted", "pending_cancel"], "pending_cancel"),
    (["submitted", "accepted"], "submitted"),
])
def test_illegal_transitions_named(setup, event):
    order = _order()
    for ts, step in enumerate(setup, start=1):
        _do(order, step, ts)

    with pytest.raises(InvalidOrderTransition):
        _do(order, event, ts=99)


@pytest.mark.parametrize("type_", [OrderType.MARKET, OrderType.LIMIT])
def test_trigger_on_an_order_without_trigger_raises(type_):
    # Arrange
    price = Decimal(100) if type_ is OrderType.LIMIT else None
    order = _order(type_=type_, price=price, trigger_price=None)
    order.apply_submitted(1)
    order.apply_accepted("v-1", 2)

    # Act / Assert
    with pytest.raises(InvalidOrderTransition, match="no trigger"):
        order.apply_triggered(3)
    assert order.status is S.ACCEPTED


def test_stop_limit_can_trigger():
    order = _order(type_=OrderType.STOP_LIMIT, price=Decimal(89), trigger_price=Decimal(90))
    order.apply_submitted(1)
    order.apply_accepted("v-1", 2)

    order.apply_triggered(3)

    assert order.status is S.TRIGGERED
    assert order.is_working


def test_overfill_raises_and_keeps_the_fill_state():
    # Arrange
    order = _order_in(S.PARTIALLY_FILLED)

    # Act / Assert
    with pytest.raises(InvalidOrderTransition, match="exceeds the remaining 9"):
        order.apply_fill(Decimal("9.5"), Decimal(100), Decimal(0), 5)
    assert order.filled_qty == 1
    assert order.leaves_qty == 9
    assert order.status is S.PARTIALLY_FILLED


def test_partial_fills_update_filled_average_and_leaves():
    # Arrange
    order = _order(type_=OrderType.MARKET, trigger_price=None)
    order.apply_submitted(1)

    # Act
    order.apply_fill(Decimal(1), Decimal(100), Decimal("0.10"), 2)
    first = (order.status, order.filled_qty, order.avg_px, order.leaves_qty, order.fees)
    order.apply_fill(Decimal(3), Decimal(200), Decimal("0.60"), 3)
    second = (order.status, order.filled_qty, order.avg_px, order.leaves_qty, order.fees)
    order.apply_fill(Decimal(6), Decimal(150), Decimal("0.90"), 4)

    # Assert
    assert first == (S.PARTIALLY_FILLED, 1, 100, 9, Decimal("0.10"))
    assert second == (S.PARTIALLY_FILLED, 4, 175, 6, Decimal("0.70"))
    assert order.status is S.FILLED
    assert order.filled_qty == 10
    assert order.avg_px == Decimal(160)  # (100 + 600 + 900) / 10
    assert order.leaves_qty == 0
    assert order.fees == Decimal("1.60")
    assert order.is_closed
    assert not order.is_working
    assert order.ts_last == 4


def test_average_price_is_exact_decimal():
    order = _order(type_=OrderType.MARKET, trigger_price=None, quantity=Decimal(3))
    order.apply_submitted(1)

    order.apply_fill(Decimal(1), Decimal("0.1"), Decimal(0), 2)
    order.apply_fill(Decimal(2), Decimal("0.2"), Decimal(0), 3)

    assert order.avg_px == Decimal("0.5") / 3


def test_quote_amount_order_resolves_its_quantity_at_the_fill():
    # Arrange
    order = _order(type_=OrderType.MARKET, quantity=None, quote_amount=Decimal(1000),
                   trigger_price=None)
    order.apply_submitted(1)
    assert order.quantity is None
    assert order.leaves_qty is None

    # Act
    order.apply_fill(Decimal("0.0249"), Decimal(40000), Decimal("0.996"), 2)

    # Assert
    assert order.quantity == Decimal("0.0249")
    assert order.filled_qty == Decimal("0.0249")
    assert order.leaves_qty == 0
    assert order.avg_px == 40000
    assert order.status is S.FILLED


def test_a_refused_fill_leaves_a_quote_amount_order_unresolved():
    # Arrange: a quote-amount order cancelled before any fill
    order = _order(type_=OrderType.MARKET, quantity=None, quote_amount=Decimal(1000),
                   trigger_price=None)
    order.apply_submitted(1)
    order.apply_canceled(2)

    # Act
    with pytest.raises(InvalidOrderTransition):
        order.apply_fill(Decimal("0.5"), Decimal(2000), Decimal(0), 3)

    # Assert: the refused event must not have changed the order
    assert order.quantity is None
    assert order.leaves_qty is None
    assert order.status is S.CANCELED


@pytest.mark.parametrize(("qty", "px", "fee"), [("0", "100", "0"), ("-1", "100", "0"),
                                                ("1", "0", "0"), ("1", "100", "-0.01")])
def test_fill_values_must_be_positive(qty, px, fee):
    order = _order_in(S.ACCEPTED)

    with pytest.raises(InvalidValue):
        order.apply_fill(Decimal(qty), Decimal(px), Decimal(fee), 5)
    assert order.status is S.ACCEPTED


def test_accepted_records_the_venue_id():
    order = _order_in(S.SUBMITTED)

    order.apply_accepted("v-42", 7)

    assert order.venue_order_id == "v-42"
    assert order.is_working


def test_fresh_order_state():
    order = _order()

    assert order.status is S.INITIALIZED
    assert order.filled_qty == 0
    assert order.avg_px is None
    assert order.leaves_qty == QTY
    assert not order.is_working
    assert not order.is_closed
    assert "o-1" in repr(order)


# -- order shape ---------------------------------------------------------------------------
D = Decimal


@pytest.mark.parametrize(("type_", "fields"), [
    (OrderType.MARKET, {"quantity": D(1)}),
    (OrderType.MARKET, {"quote_amount": D(100)}),
    (OrderType.LIMIT, {"quantity": D(1), "price": D(100)}),
    (OrderType.STOP_MARKET, {"quantity": D(1), "trigger_price": D(90)}),
    (OrderType.STOP_LIMIT, {"quantity": D(1), "price": D(89), "trigger_price": D(90)}),
])
def test_well_shaped_orders_are_accepted(type_, fields):
    order = Order("c", "s", IID, OrderSide.SELL, type_, fields.pop("quantity", None), 0, **fields)

    assert order.status is S.INITIALIZED


@pytest.mark.parametrize(("type_", "fields", "message"), [
    (OrderType.LIMIT, {"quantity": D(1)}, "needs price"),
    (OrderType.STOP_LIMIT, {"quantity": D(1), "trigger_price": D(90)}, "needs price"),
    (OrderType.STOP_MARKET, {"quantity": D(1)}, "needs trigger"),
    (OrderType.STOP_LIMIT, {"quantity": D(1), "price": D(90)}, "needs trigger"),
    (OrderType.MARKET, {"quantity": D(1), "price": D(100)}, "takes no price"),
    (OrderType.MARKET, {"quantity": D(1), "trigger_price": D(100)}, "takes no trigger"),
    (OrderType.LIMIT, {"quantity": D(1), "price": D(1), "trigger_price": D(1)}, "no trigger"),
    (OrderType.STOP_MARKET, {"quantity": D(1), "price": D(1), "trigger_price": D(1)},
     "takes no price"),
    (OrderType.LIMIT, {"quote_amount": D(100), "price": D(100)}, "only market orders"),
    (OrderType.STOP_MARKET, {"quote_amount": D(100), "trigger_price": D(90)},
     "only market orders"),
    (OrderType.MARKET, {}, "exactly one of quantity and quote_amount"),
    (OrderType.MARKET, {"quantity": D(1), "quote_amount": D(100)}, "exactly one"),
    (OrderType.MARKET, {"quantity": D(0)}, "quantity must be a positive"),
    (OrderType.MARKET, {"quantity": D(-1)}, "quantity must be a positive"),
    (OrderType.MARKET, {"quantity": D("NaN")}, "quantity must be a positive"),
    (OrderType.MARKET, {"quote_amount": D("Infinity")}, "quote_amount must be a positive"),
    (OrderType.LIMIT, {"quantity": D(1), "price": D(0)}, "price must be a positive"),
    (OrderType.STOP_MARKET, {"quantity": D(1), "trigger_price": D(-1)}, "trigger_price must"),
])
def test_badly_shaped_orders_are_refused(type_, fields, message):
    quantity = fields.pop("quantity", None)

    with pytest.raises(InvalidValue, match=message):
        Order("c", "s", IID, OrderSide.BUY, type_, quantity, 0, **fields)


def test_order_needs_a_client_order_id():
    with pytest.raises(InvalidValue, match="client order id"):
        Order("", "s", IID, OrderSide.BUY, OrderType.MARKET, D(1), 0)


def test_side_sign():
    assert OrderSide.BUY.sign == 1
    assert OrderSide.SELL.sign == -1
