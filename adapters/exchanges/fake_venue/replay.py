"""The replay clock: recorded events delivered in order, in scaled time, looping without gaps.

Venue time of an event = ``anchor + (recorded offset + loop * period) / speed``, so at any speed
the stream timestamps stay close to the wall clock while the market moves ``speed`` times faster.
With ``speed=None`` events go out as fast as the event loop allows (timestamps then run ahead of
the wall clock at recorded pace); with ``autoplay=False`` nothing moves until ``step``,
``advance`` or ``run_until`` is awaited, which lets a test put the market exactly where it wants.

In loop mode each pass shifts times by the recording's length and every id (trade, aggregate
trade, book update) by its span, and starts with one diff that moves the book back to the
recorded snapshot, so ``U == previous u + 1`` and trade ids stay gap-free across passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from adapters.exchanges.fake_venue.recording import (
    AggTradeEvent,
    BookResetEvent,
    DepthEvent,
    MarketEvent,
    QuoteEvent,
    Recording,
    TradeEvent,
)

log = logging.getLogger(__name__)
LOOP_GAP_MS = 100  # recorded time between the last event of a pass and the next pass
YIELD_EVERY = 64  # events between yields when replaying as fast as possible


def wall_ms() -> int:
    """Return the wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


_MERGED: dict[tuple[int, ...], tuple[tuple[Recording, ...], tuple[MarketEvent, ...]]] = {}


def _merged(recordings: Sequence[Recording]) -> tuple[MarketEvent, ...]:
    # Recordings are cached and immutable, so their merge can be too (tests start many venues);
    # the entry holds the recordings, so the ids in its key cannot be reused meanwhile.
    key = tuple(id(r) for r in recordings)
    found = _MERGED.get(key)
    if found is None:
        found = (tuple(recordings),
                 tuple(heapq.merge(*(r.events for r in recordings), key=lambda e: e.ts)))
        if len(_MERGED) >= 4:
            _MERGED.pop(next(iter(_MERGED)))
        _MERGED[key] = found
    return found[1]


class Replayer:
    """Drives recorded events into ``sink`` (the venue), in time order."""

    def __init__(self, recordings: Sequence[Recording], sink: Callable[[MarketEvent], None],
                 speed: float | None, loop: bool, anchor_ms: int | None = None) -> None:
        self.recordings = {r.symbol: r for r in recordings}
        self.timeline = _merged(recordings)
        self.sink = sink
        self.speed = speed
        self.loop = loop
        self.rec_start = self.timeline[0].ts
        self.period = self.timeline[-1].ts - self.rec_start + LOOP_GAP_MS
        self.anchor = wall_ms() if anchor_ms is None else anchor_ms
        self.pass_index = 0
        self.position = 0
        self.events_done = 0
        self.virtual_now = self.anchor
        self.finished = False
        self._pending: list[MarketEvent] = []
        self._task: asyncio.Task[None] | None = None

    # -- time -----------------------------------------------------------------------------
    def venue_ts(self, recorded_ts: int, pass_index: int) -> int:
        """Map a recorded time in a given pass onto venue time."""
        offset = recorded_ts - self.rec_start + pass_index * self.period
        return self.anchor + (offset if self.speed is None else round(offset / self.speed))

    def now_ms(self) -> int:
        """Return the venue's market time: the wall clock when paced, else the replay's own."""
        if self._task is not None and self.speed is not None:
            return max(wall_ms(), self.virtual_now)
        return self.virtual_now

    # -- events ---------------------------------------------------------------------------
    def _shift(self, event: MarketEvent, k: int) -> MarketEvent:
        ts = self.venue_ts(event.ts, k)
        rec = self.recordings[event.symbol]
        if isinstance(event, TradeEvent):
            return msgspec.structs.replace(event, ts=ts,
                                           trade_id=event.trade_id + k * rec.trade_span)
        if isinstance(event, AggTradeEvent):
            return msgspec.structs.replace(
                event, ts=ts, agg_id=event.agg_id + k * rec.agg_span,
                first_id=event.first_id + k * rec.trade_span,
                last_id=event.last_id + k * rec.trade_span)
        if isinstance(event, QuoteEvent):
            return msgspec.structs.replace(event, ts=ts,
                                           update_id=event.update_id + k * rec.update_span)
        if isinstance(event, DepthEvent):
            return msgspec.structs.replace(event, ts=ts,
                                           first_id=event.first_id + k * rec.update_span,
                                           last_id=event.last_id + k * rec.update_span)
        return event

    def peek(self) -> MarketEvent | None:
        """Return the next event (in venue time) without delivering it; ``None`` at the end."""
        if not self._pending:
            if self.position >= len(self.timeline):
                if not self.loop:
                    return None
                self.pass_index += 1
                self.position = 0
                ts = self.venue_ts(self.rec_start, self.pass_index)
                self._pending.extend(
                    BookResetEvent(ts, r.symbol, r.snapshot_id + self.pass_index * r.update_span)
                    for r in self.recordings.values())
            else:
                self._pending.append(self._shift(self.timeline[self.position], self.pass_index))
                self.position += 1
        return self._pending[0]

    def _deliver_next(self) -> MarketEvent | None:
        event = self.peek()
        if event is None:
            self.finished = True
            return None
        self._pending.pop(0)
        self.virtual_now = max(self.virtual_now, event.ts)
        self.events_done += 1
        self.sink(event)
        return event

    # -- manual control -------------------------------------------------------------------
    async def step(self, n: int = 1) -> int:
        """Deliver the next ``n`` events; return how many were delivered."""
        done = 0
        while done < n and self._deliver_next() is not None:
            done += 1
            if done % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let connections drain, as time would
        await asyncio.sleep(0)
        return done

    async def advance(self, ms: int) -> int:
        """Deliver every event up to ``ms`` past the current venue time; move the clock there."""
        until = self.virtual_now + ms
        done = 0
        while (nxt := self.peek()) is not None and nxt.ts <= until:
            self._deliver_next()
            done += 1
            if done % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        self.virtual_now = max(self.virtual_now, until)
        await asyncio.sleep(0)
        return done

    async def run_until(self, done: Callable[[], bool], max_events: int = 2_000_000) -> bool:
        """Deliver events until ``done()`` holds (checked after each); False if it never did."""
        for count in range(1, max_events + 1):
            if done():
                await asyncio.sleep(0)
                return True
            if self._deliver_next() is None:
                return done()
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return done()

    # -- autoplay -------------------------------------------------------------------------
    def start(self) -> None:
        """Start delivering events on their own (paced by ``speed``)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="fake-replay")

    async def stop(self) -> None:
        """Stop autoplay."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        try:
            since_yield = 0
            while (nxt := self.peek()) is not None:
                if self.speed is not None:
                    wait = (nxt.ts - wall_ms()) / 1000
                    if wait > 0:
                        await asyncio.sleep(wait)
                        since_yield = 0
                self._deliver_next()
                since_yield += 1
                if since_yield >= YIELD_EVERY:
                    await asyncio.sleep(0)
                    since_yield = 0
            self.finished = True
        except asyncio.CancelledError:
            raise
        except Exception:  # a replay crash must be visible, not a silent frozen market
            log.exception("fake venue replay stopped")
            raise

    def status(self) -> dict[str, Any]:
        """Return where the replay is (for the control API)."""
        return {"pass": self.pass_index, "position": self.position,
                "eventsDelivered": self.events_done, "recordedEvents": len(self.timeline),
                "venueTime": self.now_ms(), "speed": self.speed, "loop": self.loop,
                "autoplay": self._task is not None, "finished": self.finished}
