"""Symbol filters (``exchangeInfo``) and their checks, built from the domain ``Instrument``.

The venue lists only the filters it enforces: ``PRICE_FILTER``, ``LOT_SIZE``, ``MARKET_LOT_SIZE``,
``NOTIONAL`` (today's form of ``MIN_NOTIONAL``), ``MAX_NUM_ORDERS`` and ``MAX_NUM_ALGO_ORDERS``.
A failure is ``-1013 Filter failure: <FILTER>``, as on Binance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from adapters.exchanges.fake_venue.config import binance_symbol
from adapters.exchanges.fake_venue.orders import ORDER_TYPES, STOP_TYPES, NewOrder
from adapters.exchanges.fake_venue.wire import ZERO, VenueError, fmt
from domain.instruments import Instrument

if TYPE_CHECKING:
    from adapters.exchanges.fake_venue.market import MarketState
    from adapters.exchanges.fake_venue.orders import VenueOrder

MAX_PRICE = Decimal(1_000_000)
MAX_QTY = Decimal(9000)
MARKET_MAX_QTY = Decimal(100)
MAX_NOTIONAL = Decimal(9_000_000)
MAX_NUM_ORDERS = 200
MAX_NUM_ALGO_ORDERS = 5


def _failure(name: str) -> VenueError:
    return VenueError(-1013, f"Filter failure: {name}")


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """One symbol's trading rules."""

    instrument: Instrument

    @property
    def symbol(self) -> str:
        """Return the Binance symbol."""
        return binance_symbol(self.instrument)

    @property
    def assets(self) -> tuple[str, str]:
        """Return (base, quote)."""
        return self.instrument.base, self.instrument.quote

    @property
    def tick(self) -> Decimal:
        """Return the price tick."""
        assert self.instrument.tick_size is not None
        return self.instrument.tick_size

    @property
    def step(self) -> Decimal:
        """Return the quantity step."""
        assert self.instrument.step_size is not None
        return self.instrument.step_size

    @property
    def min_qty(self) -> Decimal:
        """Return the smallest quantity."""
        return self.instrument.min_qty or self.step

    @property
    def min_notional(self) -> Decimal:
        """Return the smallest order value in the quote asset."""
        return self.instrument.min_notional or ZERO

    def floor_step(self, qty: Decimal) -> Decimal:
        """Round a quantity down to the step size."""
        return (qty / self.step).to_integral_value(rounding=ROUND_DOWN) * self.step

    def check(self, req: NewOrder, market: MarketState, open_orders: Sequence[VenueOrder]) -> None:
        """Raise the -1013 filter failure Binance would give for ``req``, if any."""
        for price in (req.price, req.stop_price):
            if price is not None and (
                    price < self.tick or price > MAX_PRICE or (price - self.tick) % self.tick):
                raise _failure("PRICE_FILTER")
        qty = req.quantity
        if qty is not None:
            if qty < self.min_qty or qty > MAX_QTY or (qty - self.min_qty) % self.step:
                raise _failure("LOT_SIZE")
            if req.type == "MARKET" and qty > MARKET_MAX_QTY:
                raise _failure("MARKET_LOT_SIZE")
        reference = req.price if req.price is not None else (
            req.stop_price if req.stop_price is not None else market.last_price)
        notional = req.quote_order_qty if req.quote_order_qty is not None else (
            qty * reference if qty is not None and reference is not None else None)
        if notional is not None and not self.min_notional <= notional <= MAX_NOTIONAL:
            raise _failure("NOTIONAL")
        if len(open_orders) >= MAX_NUM_ORDERS:
            raise _failure("MAX_NUM_ORDERS")
        if req.type in STOP_TYPES and sum(
                o.type in STOP_TYPES for o in open_orders) >= MAX_NUM_ALGO_ORDERS:
            raise _failure("MAX_NUM_ALGO_ORDERS")

    def exchange_info(self) -> dict[str, Any]:
        """Return this symbol's entry in ``GET /api/v3/exchangeInfo`` (today's field set)."""
        base, quote = self.assets
        return {
            "symbol": self.symbol, "status": "TRADING",
            "baseAsset": base, "baseAssetPrecision": 8,
            "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
            "orderTypes": list(ORDER_TYPES),
            "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
            "opoAllowed": False, "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": False,
            "cancelReplaceAllowed": False, "amendAllowed": False,
            "pegInstructionsAllowed": False, "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": fmt(self.tick),
                 "maxPrice": fmt(MAX_PRICE), "tickSize": fmt(self.tick)},
                {"filterType": "LOT_SIZE", "minQty": fmt(self.min_qty), "maxQty": fmt(MAX_QTY),
                 "stepSize": fmt(self.step)},
                {"filterType": "MARKET_LOT_SIZE", "minQty": fmt(ZERO),
                 "maxQty": fmt(MARKET_MAX_QTY), "stepSize": fmt(ZERO)},
                {"filterType": "NOTIONAL", "minNotional": fmt(self.min_notional),
                 "applyMinToMarket": True, "maxNotional": fmt(MAX_NOTIONAL),
                 "applyMaxToMarket": False, "avgPriceMins": 5},
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": MAX_NUM_ORDERS},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": MAX_NUM_ALGO_ORDERS},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }
