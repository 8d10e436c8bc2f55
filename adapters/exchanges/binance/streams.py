"""Binance stream names (``btcusdt@trade``, ``btcusdt@kline_1m``, ...) and combined-stream URLs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.instruments import InstrumentId
from domain.timeframes import Timeframe

MAX_STREAMS_PER_CONNECTION = 1024  # Binance: "A single connection can listen to ... 1024 streams"
_NAME = re.compile(r"^(?P<symbol>[a-z0-9]+)@(?P<rest>.+)$")
_DEPTH_SPEEDS = ("depth", "depth@100ms", "depth@1000ms")


class StreamKind(StrEnum):
    """The market-data streams this adapter understands."""

    TRADE = "trade"
    AGG_TRADE = "aggTrade"
    KLINE = "kline"
    BOOK_TICKER = "bookTicker"
    DEPTH = "depthUpdate"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One subscribed stream: its wire name, kind, upper-case symbol and kline interval."""

    name: str
    kind: StreamKind
    symbol: str
    interval: Timeframe | None = None

    @classmethod
    def parse(cls, name: str) -> StreamSpec:
        """Parse a stream name; raise ``ValueError`` for names this adapter does not serve."""
        match = _NAME.match(name)
        if not match:
            raise ValueError(f"stream names are '<lower-case symbol>@<stream>', got {name!r}")
        symbol, rest = match["symbol"].upper(), match["rest"]
        if rest == "trade":
            return cls(name, StreamKind.TRADE, symbol)
        if rest == "aggTrade":
            return cls(name, StreamKind.AGG_TRADE, symbol)
        if rest == "bookTicker":
            return cls(name, StreamKind.BOOK_TICKER, symbol)
        if rest in _DEPTH_SPEEDS:
            return cls(name, StreamKind.DEPTH, symbol)
        if rest.startswith("kline_"):
            # Months ("1M") have no fixed length, so open-time continuity cannot be checked.
            interval = Timeframe.parse(rest.removeprefix("kline_"))
            return cls(name, StreamKind.KLINE, symbol, interval)
        raise ValueError(f"unsupported stream {name!r}")


def binance_symbol(instrument_id: InstrumentId) -> str:
    """Return Binance's spot symbol for an instrument (``BTC/USDT`` -> ``BTCUSDT``)."""
    return f"{instrument_id.base}{instrument_id.quote}"


def combined_stream_url(ws_base_url: str, streams: Sequence[str]) -> str:
    """Return ``<base>/stream?streams=a/b/c``; every payload then arrives as ``{stream, data}``."""
    if not streams:
        raise ValueError("subscribe to at least one stream")
    if len(streams) > MAX_STREAMS_PER_CONNECTION:
        raise ValueError(f"at most {MAX_STREAMS_PER_CONNECTION} streams per connection")
    if not ws_base_url.startswith(("ws://", "wss://")):
        raise ValueError(f"a WebSocket base URL starts with ws:// or wss://, got {ws_base_url!r}")
    return f"{ws_base_url.rstrip('/')}/stream?streams={'/'.join(streams)}"
