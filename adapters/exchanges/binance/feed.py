"""The Binance market-data stream client: one combined-stream connection, kept alive.

``BinanceMarketFeed`` connects to ``<base>/stream?streams=...`` with ``websockets`` and yields
validated domain events in order. Connection rules are Binance's ("WebSocket Streams", spot):

* the server pings every 20 s and drops a client that does not pong within a minute; the
  ``websockets`` protocol answers every ping with a pong carrying the same payload by itself,
  as long as frames are read (hence a deep ``max_queue``: a slow consumer must not stop reads);
* a connection lives at most 24 h: the feed reconnects on its own before that
  (``max_connection_age_s``), and at once on a ``serverShutdown`` notice;
* anything else that ends a connection is retried with bounded exponential backoff + jitter.

After a reconnect (or any jump inside a connection) the first trade id or kline open time past
the jump reveals a gap; the feed asks the ``Backfiller`` for it and yields what it recovered,
in order, before the live event. What cannot be recovered is yielded as ``MissingData``.
Every frame is counted (see ``metrics``); nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from adapters.exchanges.binance.backfill import Backfiller, MissingData
from adapters.exchanges.binance.errors import PARSE_ERRORS, FeedRejected
from adapters.exchanges.binance.gaps import Gap, SequenceTracker, Verdict
from adapters.exchanges.binance.metrics import (
    UNKNOWN_STREAM,
    FeedMetrics,
    ReconnectReason,
    default_metrics,
)
from adapters.exchanges.binance.orderbook import DepthDiff
from adapters.exchanges.binance.parse import BinanceParser, Ignored, IgnoreReason
from adapters.exchanges.binance.streams import (
    StreamKind,
    StreamSpec,
    binance_symbol,
    combined_stream_url,
)
from domain.instruments import Instrument
from domain.market import Bar, Quote, Trade

log = logging.getLogger(__name__)

MarketEvent = Trade | Quote | Bar | DepthDiff | MissingData
"""What the feed yields."""

BINANCE_MAX_CONNECTION_AGE_S: Final = 24 * 3600
_PLANNED = (ReconnectReason.MAX_AGE, ReconnectReason.SERVER_SHUTDOWN)


class FeedUnavailable(ConnectionError):
    """The feed gave up after ``max_reconnect_attempts`` consecutive failed connections."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """How the feed connects, reconnects and backfills; validated on construction."""

    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    backoff_jitter: float = 0.25  # each delay is cut by up to this fraction, at random
    max_connection_age_s: float = 23.5 * 3600  # reconnect on our terms before Binance's 24 h
    open_timeout_s: float = 10.0
    keepalive_interval_s: float | None = 20.0  # our own pings find half-open TCP connections
    keepalive_timeout_s: float | None = 20.0
    max_queue: int = 4096  # frames buffered by websockets before it stops reading the socket
    backfill_timeout_s: float = 30.0
    max_reconnect_attempts: int | None = None  # consecutive failures; None = never give up

    def __post_init__(self) -> None:
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("backoff needs 0 < initial <= max")
        if not 0 <= self.backoff_jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")
        if not 0 < self.max_connection_age_s < BINANCE_MAX_CONNECTION_AGE_S:
            raise ValueError("connections must be renewed before Binance's 24 h limit")
        if self.open_timeout_s <= 0 or self.backfill_timeout_s <= 0 or self.max_queue < 1:
            raise ValueError("timeouts and the queue size must be positive")
        if self.max_reconnect_attempts is not None and self.max_reconnect_attempts < 1:
            raise ValueError("max_reconnect_attempts must be at least 1 (or None)")


def backoff_delay(attempt: int, config: FeedConfig, rng: random.Random) -> float:
    """Return the wait before reconnect ``attempt`` (0-based): doubling, capped, jittered down."""
    base = min(config.backoff_max_s, config.backoff_initial_s * 2.0 ** min(attempt, 60))
    return base * (1.0 - config.backoff_jitter * rng.random())


class _Stream:
    """Per-stream state: spec, instrument, continuity tracker and pre-bound metric children."""

    __slots__ = ("instrument", "live", "received", "spec", "tracker")

    def __init__(self, spec: StreamSpec, instrument: Instrument, metrics: FeedMetrics) -> None:
        self.spec = spec
        self.instrument = instrument
        step = spec.interval.nanos if spec.interval is not None else 1
        gapless = spec.kind in (StreamKind.TRADE, StreamKind.AGG_TRADE, StreamKind.KLINE)
        self.tracker = SequenceTracker(step) if gapless else None
        self.received = metrics.messages.labels(spec.name)
        self.live = metrics.events.labels(spec.name, "live")


class BinanceMarketFeed:
    """Yield validated events of Binance combined streams, reconnecting and backfilling.

    Iterate with ``async for event in feed`` (wrap in ``contextlib.aclosing`` to close the
    connection when leaving early) and stop with ``await feed.aclose()``.
    """

    def __init__(
        self,
        ws_base_url: str,
        streams: Sequence[str],
        instruments: Iterable[Instrument],
        *,
        backfiller: Backfiller | None = None,
        config: FeedConfig | None = None,
        metrics: FeedMetrics | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
    ) -> None:
        self.url = combined_stream_url(ws_base_url, streams)
        by_symbol = {binance_symbol(i.id): i for i in instruments}
        self.config = config or FeedConfig()
        self.metrics = metrics or default_metrics()
        self._parser = BinanceParser(by_symbol.values(), streams)
        self._streams = {name: _Stream(spec, by_symbol[spec.symbol], self.metrics)
                         for name in streams for spec in (StreamSpec.parse(name),)}
        self._backfiller = backfiller
        self._clock_ns = clock_ns
        self._rng = rng or random.Random()
        self._ws: ClientConnection | None = None
        self._stop = asyncio.Event()
        self._shutdown_notice = False

    def resume_after(self, stream: str, key: int) -> None:
        """Treat ``key`` (a trade id, or a bar open time in ns) as already held for ``stream``.

        A restarted process then backfills from its last stored key instead of starting blind.
        """
        tracker = self._streams[stream].tracker
        if tracker is None:
            raise ValueError(f"{stream} has no continuity to resume")
        tracker.resume_after(key)

    def __aiter__(self) -> AsyncIterator[MarketEvent]:
        return self.events()

    async def aclose(self) -> None:
        """Stop: close the connection; the iterator ends instead of reconnecting."""
        self._stop.set()
        if self._ws is not None:
            await self._ws.close()

    async def events(self) -> AsyncGenerator[MarketEvent, None]:
        """Connect, yield events in order, and reconnect until ``aclose``."""
        failures = 0
        first = True
        reason = ReconnectReason.CLOSED
        while not self._stop.is_set():
            if not first:
                self.metrics.reconnects.labels(reason.value).inc()
            first = False
            reason = ReconnectReason.CONNECT_FAILED
            try:
                async with connect(self.url, open_timeout=self.config.open_timeout_s,
                                   ping_interval=self.config.keepalive_interval_s,
                                   ping_timeout=self.config.keepalive_timeout_s,
                                   max_queue=self.config.max_queue) as ws:
                    self._ws = ws
                    self.metrics.connected.set(1)
                    reason = ReconnectReason.CLOSED
                    async for event in self._session(ws):
                        failures = 0
                        yield event
                    reason = (ReconnectReason.SERVER_SHUTDOWN if self._shutdown_notice
                              else ReconnectReason.MAX_AGE)
            except ConnectionClosed as exc:
                log.info("binance stream closed: %s", exc)
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                log.warning("binance stream failed (%s): %r", reason.value, exc)
            finally:
                self._ws = None
                self.metrics.connected.set(0)
            if self._stop.is_set():
                return
            if reason in _PLANNED:
                continue
            failures += 1
            limit = self.config.max_reconnect_attempts
            if limit is not None and failures > limit:
                raise FeedUnavailable(f"{failures - 1} reconnect attempts failed for {self.url}")
            await asyncio.sleep(backoff_delay(failures - 1, self.config, self._rng))

    async def _session(self, ws: ClientConnection) -> AsyncGenerator[MarketEvent, None]:
        # Ends normally at the planned age or on a shutdown notice; a dropped connection raises.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.max_connection_age_s
        self._shutdown_notice = False
        while not self._shutdown_notice:
            try:
                async with asyncio.timeout_at(deadline):
                    frame = await ws.recv(decode=False)
            except TimeoutError:
                return
            for event in await self._on_frame(frame):
                yield event

    async def _on_frame(self, frame: bytes) -> Sequence[MarketEvent]:
        metrics = self.metrics
        try:
            stream_name, item = self._parser.parse_frame(frame, self._clock_ns())
        except FeedRejected as exc:
            label = exc.stream if exc.stream in self._streams else UNKNOWN_STREAM
            metrics.messages.labels(label).inc()
            counter = metrics.parse_errors if exc.reason in PARSE_ERRORS else metrics.rejected
            counter.labels(label, exc.reason.value).inc()
            log.debug("rejected frame on %s: %s", label, exc)
            return ()
        stream = self._streams.get(stream_name) if stream_name is not None else None
        if stream is not None:
            stream.received.inc()
        else:
            metrics.messages.labels(UNKNOWN_STREAM).inc()
        if isinstance(item, Ignored):
            metrics.ignored.labels(stream.spec.name if stream else UNKNOWN_STREAM,
                                   item.reason.value).inc()
            if item.reason is IgnoreReason.SERVER_SHUTDOWN:
                self._shutdown_notice = True
            return ()
        assert stream is not None  # the parser only returns events of subscribed streams
        tracker = stream.tracker
        if tracker is None or isinstance(item, (Quote, DepthDiff)):
            stream.live.inc()
            return (item,)
        observation = tracker.observe(_key(item))
        if observation.verdict is not Verdict.ACCEPT:
            metrics.rejected.labels(stream.spec.name, observation.verdict.value).inc()
            return ()
        stream.live.inc()
        if observation.gap is None:
            return (item,)
        recovered = await self._backfill(stream, observation.gap)
        recovered.append(item)
        return recovered

    async def _backfill(self, stream: _Stream, gap: Gap) -> list[MarketEvent]:
        name, metrics, tracker = stream.spec.name, self.metrics, stream.tracker
        assert tracker is not None
        metrics.gaps_found.labels(name).inc()
        fetched: Sequence[Trade | Bar] = ()
        if self._backfiller is not None:
            try:
                async with asyncio.timeout(self.config.backfill_timeout_s):
                    fetched = await self._fetch(stream, gap)
            except Exception:  # a failed backfill must not kill the live stream
                log.exception("backfill of %s %s..%s failed", name, gap.first, gap.last)
                metrics.backfill_failures.labels(name).inc()
        out: list[MarketEvent] = []
        for item in sorted((i for i in fetched if _key(i) in gap), key=_key):
            if tracker.fill(_key(item)):
                out.append(item)
        metrics.backfilled.labels(name).inc(len(out))
        metrics.events.labels(name, "backfill").inc(len(out))
        holes = tracker.missing(within=gap)
        if not holes:
            metrics.gaps_filled.labels(name).inc()
            return out
        instrument_id = stream.instrument.id
        for hole in holes:
            metrics.missing.labels(name).inc(hole.count)
            out.append(MissingData(instrument_id, name, hole.first, hole.last))
        # Holes go after what was recovered; order inside a gap is kept by sorting on first key.
        out.sort(key=_order_key)
        return out

    async def _fetch(self, stream: _Stream, gap: Gap) -> Sequence[Trade | Bar]:
        backfiller, spec, instrument = self._backfiller, stream.spec, stream.instrument
        assert backfiller is not None
        if spec.kind is StreamKind.TRADE:
            return await backfiller.trades_between(instrument, gap.first, gap.last)
        if spec.kind is StreamKind.AGG_TRADE:
            return await backfiller.agg_trades_between(instrument, gap.first, gap.last)
        assert spec.interval is not None
        return await backfiller.klines_between(instrument, spec.interval, gap.first, gap.last)


def _key(item: Trade | Bar) -> int:
    return int(item.trade_id) if isinstance(item, Trade) else item.ts_open


def _order_key(event: MarketEvent) -> int:
    if isinstance(event, MissingData):
        return event.first
    assert isinstance(event, (Trade, Bar))
    return _key(event)
