"""Request-weight and order-count limits per IP, with Binance's 429-then-418 escalation.

Every answer carries ``X-MBX-USED-WEIGHT-1M``. Going over the weight limit answers 429 (-1003)
with ``Retry-After``; a client that keeps sending while limited is banned: 418 with
``Retry-After`` until the ban ends, the ban doubling for repeat offenders (2 minutes to 3 days on
Binance). The window starts at the first request after the previous one ended, rather than on the
wall-clock minute, so a test is never split by a minute boundary.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from adapters.exchanges.fake_venue.wire import VenueError

MAX_BAN_S = 3 * 86_400.0


class RateLimited(VenueError):
    """A request refused by a limit; ``retry_after`` is seconds, or None for no header."""

    def __init__(self, code: int, msg: str, status: int, retry_after: int | None) -> None:
        super().__init__(code, msg, status)
        self.retry_after = retry_after


@dataclass(slots=True)
class _Usage:
    window_start: float = -math.inf
    used: int = 0
    violations: int = 0
    bans: int = 0
    banned_until: float = -math.inf


class WeightLimiter:
    """Weight used per IP in the current window, and bans."""

    def __init__(self, limit: int, window_s: float, ban_after: int, ban_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.ban_after = ban_after
        self.ban_s = ban_s
        self.clock = clock
        self.wall_ms = wall_ms
        self._ips: dict[str, _Usage] = {}

    def used(self, ip: str) -> int:
        """Return the weight ``ip`` used in its current window."""
        usage = self._ips.get(ip)
        if usage is None or self.clock() - usage.window_start >= self.window_s:
            return 0
        return usage.used

    def charge(self, ip: str, weight: int) -> int:
        """Add a request's weight; return the weight used, or raise ``RateLimited``."""
        now = self.clock()
        usage = self._ips.setdefault(ip, _Usage())
        if now < usage.banned_until:
            raise self._banned(usage, now)
        if now - usage.window_start >= self.window_s:
            usage.window_start, usage.used = now, 0
        usage.used += weight
        if usage.used <= self.limit:
            return usage.used
        usage.violations += 1
        if usage.violations > self.ban_after:
            usage.bans += 1
            usage.violations = 0
            usage.banned_until = now + min(self.ban_s * 2 ** (usage.bans - 1), MAX_BAN_S)
            raise self._banned(usage, now)
        retry = max(1, math.ceil(usage.window_start + self.window_s - now))
        raise RateLimited(
            -1003, f"Too much request weight used; current limit is {self.limit} request "
                   f"weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
                   f"polling the API.", 429, retry)

    def _banned(self, usage: _Usage, now: int | float) -> RateLimited:
        left = usage.banned_until - now
        until = self.wall_ms() + int(left * 1000)
        return RateLimited(
            -1003, f"Way too much request weight used; IP banned until {until}. Please use "
                   f"WebSocket Streams for live updates to avoid bans.", 418,
            max(1, math.ceil(left)))

    def reset(self) -> None:
        """Forget all usage and bans (control API)."""
        self._ips.clear()


class OrderCounter:
    """New orders per account in a 10-second window (``X-MBX-ORDER-COUNT-10S``)."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def count(self, api_key: str) -> int:
        """Count one new order; return the count, or raise 429 (-1015) over the limit."""
        now = self.clock()
        start, used = self._windows.get(api_key, (-math.inf, 0))
        if now - start >= 10:
            start, used = now, 0
        used += 1
        self._windows[api_key] = (start, used)
        if used > self.limit:
            raise RateLimited(-1015, f"Too many new orders; current limit is {self.limit} orders "
                                     f"per 10 SECOND.", 429, None)
        return used
