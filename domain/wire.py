"""Market events as bus payloads: the normalised shape every Lockgate process exchanges.

Prices and sizes travel as decimal strings (exact, language-neutral), times as UTC nanoseconds.
Types and schema versions are fixed here; a change of shape is a new schema version.
"""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidValue
from domain.fixed import decimal_places, parse_raw, raw_to_text
from domain.instruments import InstrumentId
from domain.market import AggressorSide, Quote, Trade

TRADE_TYPE = "market.trade"
QUOTE_TYPE = "market.quote"
SCHEMA_VERSION = 1


def trade_payload(trade: Trade) -> dict[str, Any]:
    """Return the bus payload of a trade."""
    return {
        "instrument_id": str(trade.instrument_id),
        "trade_id": trade.trade_id,
        "price": raw_to_text(trade.price, trade.price_precision),
        "qty": raw_to_text(trade.size, trade.size_precision),
        "aggressor": trade.aggressor.value,
        "ts_event": trade.ts_event,
    }


def trade_from_payload(payload: dict[str, Any]) -> Trade:
    """Rebuild a trade from its payload; raise ``InvalidValue`` on anything malformed."""
    try:
        price, qty = str(payload["price"]), str(payload["qty"])
        price_dp, size_dp = decimal_places(price), decimal_places(qty)
        return Trade(InstrumentId.parse(str(payload["instrument_id"])), int(payload["ts_event"]),
                     parse_raw(price, price_dp), parse_raw(qty, size_dp),
                     AggressorSide(payload["aggressor"]), str(payload["trade_id"]),
                     price_dp, size_dp)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidValue(f"malformed {TRADE_TYPE} payload: {exc}") from exc


def quote_payload(quote: Quote) -> dict[str, Any]:
    """Return the bus payload of a best bid/ask."""
    pp, sp = quote.price_precision, quote.size_precision
    return {
        "instrument_id": str(quote.instrument_id),
        "bid": raw_to_text(quote.bid, pp), "ask": raw_to_text(quote.ask, pp),
        "bid_size": raw_to_text(quote.bid_size, sp), "ask_size": raw_to_text(quote.ask_size, sp),
        "ts_event": quote.ts_event,
    }
