"""The port the feed asks to recover data it missed; the REST implementation (ccxt) comes later."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from domain.instruments import Instrument, InstrumentId
from domain.market import Bar, Trade
from domain.timeframes import Timeframe


class Backfiller(Protocol):
    """Recover trades and closed klines a stream skipped, from the venue's REST history.

    Bounds are inclusive. Returning more than asked is fine (REST pages are coarse): the feed
    keeps only what is missing. Returning less is fine too: the rest is reported missing.
    """

    async def trades_between(
        self, instrument: Instrument, from_id: int, to_id: int
    ) -> Sequence[Trade]:
        """Return the trades with ids ``from_id..to_id`` (``GET /api/v3/historicalTrades``)."""
        ...

    async def agg_trades_between(
        self, instrument: Instrument, from_id: int, to_id: int
    ) -> Sequence[Trade]:
        """Return aggregate trades ``from_id..to_id`` (``GET /api/v3/aggTrades``)."""
        ...

    async def klines_between(
        self, instrument: Instrument, interval: Timeframe, from_open_ns: int, to_open_ns: int
    ) -> Sequence[Bar]:
        """Return closed bars opening in ``from_open_ns..to_open_ns`` (``GET /api/v3/klines``)."""
        ...


class MissingData(msgspec.Struct, frozen=True):
    """Keys ``first..last`` of ``stream`` that neither the stream nor a backfill delivered.

    Keys are trade ids (trade streams), aggregate ids (aggTrade) or bar open times in UTC
    nanoseconds (klines). Consumers decide whether a hole matters to them; it is never hidden.
    """

    instrument_id: InstrumentId
    stream: str
    first: int
    last: int
