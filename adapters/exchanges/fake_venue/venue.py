"""The venue's state: recordings, markets, accounts, matching, streams, limits and faults."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from adapters.exchanges.fake_venue.accounts import Accounts
from adapters.exchanges.fake_venue.config import FakeVenueConfig
from adapters.exchanges.fake_venue.faults import Faults
from adapters.exchanges.fake_venue.feed import MarketFeed
from adapters.exchanges.fake_venue.filters import SymbolRules
from adapters.exchanges.fake_venue.limits import OrderCounter, WeightLimiter
from adapters.exchanges.fake_venue.market import MarketState
from adapters.exchanges.fake_venue.matching import MatchingEngine
from adapters.exchanges.fake_venue.recording import load_recording
from adapters.exchanges.fake_venue.replay import Replayer
from adapters.exchanges.fake_venue.streams import StreamHub
from adapters.exchanges.fake_venue.user_data import UserStreams
from adapters.exchanges.fake_venue.wire import VenueError, fmt
from domain.errors import InvalidValue


class Venue:
    """Everything one fake Binance spot venue knows; the web app is a view onto it.

    ``replay`` moves the market (``step``/``advance``/``run_until`` when not autoplaying),
    ``faults`` injects failures, ``accounts`` and ``engine`` hold balances and orders.
    """

    def __init__(self, config: FakeVenueConfig) -> None:
        self.config = config
        instruments = config.instruments()
        self.rules = {s: SymbolRules(i) for s, i in instruments.items()}
        self.recordings = {s: load_recording(config.data_dir, s, i.base, i.quote)
                           for s, i in instruments.items()}
        self.markets = {s: MarketState(s, r.snapshot_bids, r.snapshot_asks, r.snapshot_id)
                        for s, r in self.recordings.items()}
        self.accounts = Accounts(config.accounts)
        self.faults = Faults()
        self.hub = StreamHub(self.markets)
        self.hub.on_kline_wanted = self._want_klines
        self.faults.bind_dropper(self.hub.drop)
        self.users = UserStreams(config.listen_key_ttl_s, self.wall_ms)
        self.limiter = WeightLimiter(config.weight_limit, config.weight_window_s,
                                     config.ban_after_violations, config.ban_seconds)
        self.order_counter = OrderCounter(config.order_limit_10s)
        self.orders_today = 0
        self.engine = MatchingEngine(self.markets, self.rules, self.now_ms, self.users.publish)
        self.feed = MarketFeed(self.markets, self.recordings, self.hub, self.engine.on_trade)
        self.replay = Replayer(list(self.recordings.values()), self.feed, config.speed,
                               config.loop, config.start_ms)

    def _want_klines(self, symbol: str, interval: str) -> None:
        self.markets[symbol].klines.get(interval)

    @staticmethod
    def wall_ms() -> int:
        """Return the server's clock (``/api/v3/time``; what ``timestamp`` is checked against)."""
        return time.time_ns() // 1_000_000

    def now_ms(self) -> int:
        """Return market time: stamps events, orders and fills."""
        return self.replay.now_ms()

    async def start(self) -> None:
        """Start the replay (if autoplaying) and the listenKey expiry watch."""
        if self.config.autoplay:
            self.replay.start()
        self.users.start()

    async def stop(self) -> None:
        """Stop background work and close every connection."""
        await self.replay.stop()
        await self.users.stop()
        for channel in ("market", "user"):
            self.hub.drop(channel)

    def deposit(self, api_key: str, asset: str, delta: Decimal) -> dict[str, Any]:
        """Change a free balance as a deposit (or withdrawal) would, with its user events."""
        account = self.accounts.get(api_key)
        if account is None:
            raise InvalidValue(f"no account with api key {api_key!r}")
        if not delta.is_finite() or account.balance(asset).free + delta < 0:
            raise VenueError(-2010, "Account has insufficient balance for requested action.")
        now = self.now_ms()
        account.credit(asset, delta, now)
        self.users.publish(account, {"e": "balanceUpdate", "E": now, "a": asset, "d": fmt(delta),
                                     "T": now})
        self.users.publish(account, account.position_event(account.take_touched(), now))
        return account.account_info(now)
