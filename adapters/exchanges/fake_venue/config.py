"""The fake venue's configuration: frozen, validated at construction.

The symbols it lists are domain ``Instrument``s, so their precision and filters are the same exact
values the rest of Lockgate reasons with; ``exchangeInfo`` is rendered from them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Final

from domain.errors import InvalidValue
from domain.instruments import Instrument, InstrumentId, InstrumentKind

# Binance's own documentation example key pair (rest-api.md, "SIGNED Endpoint Examples"): public,
# obviously not a real credential, and the pair the official signing vectors are computed with.
DEMO_API_KEY: Final = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DEMO_SECRET_KEY: Final = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DATA_ENV: Final = "LOCKGATE_SHARED_DATA"


def default_data_dir() -> Path:
    """Return the recorded-data folder: ``$LOCKGATE_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    return repo.parent / "shared" / "data"


def _spot(base: str, quote: str, tick: str, step: str, min_notional: str) -> Instrument:
    return Instrument(
        id=InstrumentId("BINANCE", base, quote),
        kind=InstrumentKind.SPOT,
        price_precision=-Decimal(tick).as_tuple().exponent,  # type: ignore[operator]
        size_precision=-Decimal(step).as_tuple().exponent,  # type: ignore[operator]
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        min_qty=Decimal(step),
        min_notional=Decimal(min_notional),
    )


# Filters as Binance lists them for these symbols (tick and step from the recorded 2024 books).
KNOWN_SYMBOLS: Final[Mapping[str, Instrument]] = MappingProxyType({
    "BTCUSDT": _spot("BTC", "USDT", "0.01", "0.00001", "5"),
    "ETHUSDT": _spot("ETH", "USDT", "0.01", "0.0001", "5"),
})


def binance_symbol(instrument: Instrument) -> str:
    """Return Binance's symbol for a spot instrument (``BTCUSDT``)."""
    return f"{instrument.base}{instrument.quote}"


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One trading account: its HMAC key pair, starting balances and commission rates."""

    api_key: str = DEMO_API_KEY
    secret_key: str = field(default=DEMO_SECRET_KEY, repr=False)
    balances: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({
        "USDT": Decimal("100000"), "BTC": Decimal("1"), "ETH": Decimal("10"),
    }))
    maker_commission: Decimal = Decimal("0.001")
    taker_commission: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        if not self.api_key or not self.api_key.isalnum() or len(self.api_key) > 64:
            raise InvalidValue("an api key is 1-64 letters and digits")
        if not self.secret_key:
            raise InvalidValue("an account needs a secret key")
        for asset, amount in self.balances.items():
            if not amount.is_finite() or amount < 0:
                raise InvalidValue(f"balance of {asset} must be a non-negative decimal")
        for rate in (self.maker_commission, self.taker_commission):
            if not rate.is_finite() or not 0 <= rate < 1:
                raise InvalidValue(f"commission rate must be in [0, 1), got {rate}")
        object.__setattr__(self, "balances", MappingProxyType(dict(self.balances)))


@dataclass(frozen=True, slots=True)
class FakeVenueConfig:
    """How the fake venue runs.

    ``speed`` scales recorded time (10.0 replays ten recorded seconds per wall second);
    ``None`` replays as fast as possible. With ``autoplay=False`` nothing moves until a caller
    steps the replay (``venue.replay.step``/``advance``/``run_until``), which makes tests exact.
    ``loop`` restarts the recording at its end with times and ids shifted forward.
    """

    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path = field(default_factory=default_data_dir)
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    speed: float | None = 1.0
    autoplay: bool = True
    loop: bool = True
    start_ms: int | None = None  # venue time of the first replayed event; None: the wall clock
    accounts: tuple[AccountConfig, ...] = (AccountConfig(),)
    weight_limit: int = 6000  # REQUEST_WEIGHT per minute, as Binance spot has today
    weight_window_s: float = 60.0
    ban_after_violations: int = 3  # requests refused with 429 before the IP is banned (418)
    ban_seconds: float = 120.0  # first ban; doubles for repeat offenders, like Binance's
    order_limit_10s: int = 100
    ws_ping_interval: float | None = 20.0
    ws_ping_timeout: float | None = 60.0
    listen_key_ttl_s: float = 3600.0
    max_queued_messages: int = 20_000  # a slower consumer is disconnected, as Binance does
    log_level: str = "warning"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InvalidValue(f"port must be 0-65535, got {self.port}")
        if self.speed is not None and not self.speed > 0:
            raise InvalidValue(f"speed must be positive (or None for as fast as possible), "
                               f"got {self.speed}")
        if not self.symbols:
            raise InvalidValue("the venue needs at least one symbol")
        unknown = [s for s in self.symbols if s not in KNOWN_SYMBOLS]
        if unknown:
            raise InvalidValue(f"no recorded data for {unknown}; known: {sorted(KNOWN_SYMBOLS)}")
        if len(set(self.symbols)) != len(self.symbols):
            raise InvalidValue("symbols must be distinct")
        keys = [a.api_key for a in self.accounts]
        if len(set(keys)) != len(keys):
            raise InvalidValue("api keys must be distinct")
        for name in ("weight_limit", "ban_after_violations", "order_limit_10s",
                     "max_queued_messages"):
            if getattr(self, name) < 1:
                raise InvalidValue(f"{name} must be at least 1")
        for name in ("weight_window_s", "ban_seconds", "listen_key_ttl_s"):
            if not getattr(self, name) > 0:
                raise InvalidValue(f"{name} must be positive")

    def instruments(self) -> dict[str, Instrument]:
        """Return the configured symbols' instruments keyed by Binance symbol."""
        return {symbol: KNOWN_SYMBOLS[symbol] for symbol in self.symbols}
