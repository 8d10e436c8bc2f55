"""Fault injection, switchable per test: what a flaky exchange or network does to a client.

Faults act on channels: ``market`` (market streams), ``user`` (user data: listenKey streams and
the WebSocket API) and ``rest``. Count-based faults (``duplicate``, ``reorder``, ``malformed``,
``http_error``) hit the next ``n`` messages or requests of the channel, across connections
(or only those of one ``stream``, such as ``btcusdt@trade``, when one is named);
``delay`` holds until changed (``delay(0)`` ends it); ``stall`` silences a channel for a while
(messages wait, then flow); ``drop_connections`` closes open WebSockets at once. Answers to a
client's own requests (SUBSCRIBE, WebSocket API calls) are never faulted, only data is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Final, Literal

from domain.errors import InvalidValue

Channel = Literal["market", "user", "rest"]
Target = Literal["market", "user", "rest", "all"]
CHANNELS: Final[tuple[Channel, ...]] = ("market", "user", "rest")
COUNTED: Final = ("duplicate", "reorder", "malformed")


def _channels(target: str) -> tuple[Channel, ...]:
    if target == "all":
        return CHANNELS
    for channel in CHANNELS:
        if target == channel:
            return (channel,)
    raise InvalidValue(f"channel must be one of {CHANNELS} or 'all', got {target!r}")


def _count(n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise InvalidValue(f"a fault count must be a non-negative int, got {n!r}")
    return n


class Faults:
    """The venue's fault switchboard; every method is safe to call from a test at any time."""

    def __init__(self) -> None:
        self._dropper: Callable[[str], int] = lambda _channel: 0
        self.clear()

    def bind_dropper(self, dropper: Callable[[str], int]) -> None:
        """Let the venue say how connections of a channel are closed."""
        self._dropper = dropper

    # -- the control API ------------------------------------------------------------------
    def drop_connections(self, channel: Target = "all") -> int:
        """Close every open WebSocket of ``channel`` now; return how many were closed."""
        return sum(self._dropper(c) for c in _channels(channel) if c != "rest")

    def stall(self, seconds: float, channel: Target = "market") -> None:
        """Send nothing on ``channel`` for ``seconds`` (REST: answer nothing for that long)."""
        if not seconds >= 0:
            raise InvalidValue(f"stall seconds must be non-negative, got {seconds!r}")
        until = time.monotonic() + seconds
        for c in _channels(channel):
            self._stall_until[c] = until

    def delay(self, ms: float, channel: Target = "all") -> None:
        """Hold every message (and REST answer) of ``channel`` for ``ms`` until changed."""
        if not ms >= 0:
            raise InvalidValue(f"delay must be non-negative, got {ms!r}")
        for c in _channels(channel):
            self._delay_s[c] = ms / 1000

    def duplicate(self, n: int = 1, channel: Target = "market", stream: str = "") -> None:
        """Send each of the next ``n`` messages (of ``stream`` only, if given) twice."""
        self._set("duplicate", n, channel, stream)

    def reorder(self, n: int = 1, channel: Target = "market", stream: str = "") -> None:
        """Swap each of the next ``n`` messages with the one after it.

        With a ``stream``, only its messages are held, each until the stream's next message.
        """
        self._set("reorder", n, channel, stream)

    def malformed(self, n: int = 1, channel: Target = "market", stream: str = "") -> None:
        """Cut each of the next ``n`` messages (of ``stream`` only, if given) in half."""
        self._set("malformed", n, channel, stream)

    def http_error(self, status: int = 503, n: int = 1) -> None:
        """Answer the next ``n`` REST requests with HTTP ``status`` (and a Binance error body)."""
        if not 400 <= status <= 599:
            raise InvalidValue(f"http_error status must be 4xx or 5xx, got {status!r}")
        self._http_status, self._http_left = status, _count(n)

    def clear(self) -> None:
        """Switch every fault off."""
        self._delay_s: dict[Channel, float] = dict.fromkeys(CHANNELS, 0.0)
        self._stall_until: dict[Channel, float] = dict.fromkeys(CHANNELS, 0.0)
        self._counts: dict[tuple[str, Channel], int] = {}
        self._streams: dict[tuple[str, Channel], str] = {}
        self._http_status = 0
        self._http_left = 0

    def state(self) -> dict[str, Any]:
        """Return which faults are on (for the control endpoint and assertions)."""
        now = time.monotonic()
        return {
            "delayMs": {c: self._delay_s[c] * 1000 for c in CHANNELS},
            "stalledFor": {c: max(0.0, self._stall_until[c] - now) for c in CHANNELS},
            "counts": {f"{k}:{c}": n for (k, c), n in self._counts.items() if n},
            "streams": {f"{k}:{c}": s for (k, c), s in self._streams.items() if s},
            "httpError": {"status": self._http_status, "left": self._http_left},
        }

    def _set(self, kind: str, n: int, channel: Target, stream: str = "") -> None:
        if not isinstance(stream, str):
            raise InvalidValue(f"a fault's stream is a stream name, got {stream!r}")
        for c in _channels(channel):
            self._counts[(kind, c)] = _count(n)
            self._streams[(kind, c)] = stream

    # -- used by the senders --------------------------------------------------------------
    async def hold(self, channel: Channel) -> None:
        """Wait out a stall and the configured delay before sending on ``channel``."""
        while (left := self._stall_until[channel] - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))
        if self._delay_s[channel]:
            await asyncio.sleep(self._delay_s[channel])

    def take(self, kind: str, channel: Channel, stream: str = "") -> bool:
        """Use one count of ``kind`` on ``channel`` (for a message of ``stream``); return
        whether it applied."""
        left = self._counts.get((kind, channel), 0)
        if left <= 0:
            return False
        wanted = self._streams.get((kind, channel), "")
        if wanted and wanted != stream:
            return False
        self._counts[(kind, channel)] = left - 1
        return True

    def aimed_at(self, kind: str, channel: Channel) -> str:
        """Return the stream a count-based fault is aimed at ("" for every stream)."""
        return self._streams.get((kind, channel), "")

    def take_http_error(self) -> int | None:
        """Use one injected HTTP error; return its status, if one is pending."""
        if self._http_left <= 0:
            return None
        self._http_left -= 1
        return self._http_status
