"""Deterministic data for the fake vendors: prices from real candles, seeded news and metrics.

Prices are the closes of the real hourly candles in ``../shared/data/candles`` (BTC and ETH in
USDT; NEO, XLM and XRP in BTC, converted through BTC's close of the same hour), replayed in a
loop: the hour ``h`` since the epoch reads row ``h mod rows``. Without that folder a seeded walk
stands in. Market caps are price times a fixed circulating supply, so ranks follow prices.
News posts and on-chain metrics are functions of (seed, time slot): the same instant always
gives the same answer, and later instants add new posts and points the way the vendors do.
"""

from __future__ import annotations

import csv
import functools
import math
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

DATA_ENV: Final = "LOCKGATE_SHARED_DATA"


def default_data_dir() -> Path:
    """Return the shared data folder: ``$LOCKGATE_SHARED_DATA`` or ``<repo>/../shared/data``.

    The same rule as the fake venue's, so both fakes replay the same real market.
    """
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[4] / "shared" / "data"


@dataclass(frozen=True, slots=True)
class Asset:
    """One coin the fakes know, with each vendor's identifier for it."""

    ticker: str
    name: str
    gecko_id: str
    cmc_id: int
    supply: Decimal
    candles: str
    in_btc: bool


ASSETS: Final = (
    Asset("BTC", "Bitcoin", "bitcoin", 1, Decimal(19_700_000), "binance_BTC-USDT_1h.csv", False),
    Asset("ETH", "Ethereum", "ethereum", 1027, Decimal(120_200_000), "binance_ETH-USDT_1h.csv",
          False),
    Asset("XRP", "XRP", "ripple", 52, Decimal(55_500_000_000), "bittrex_XRP-BTC_1h.csv", True),
    Asset("XLM", "Stellar", "stellar", 512, Decimal(29_300_000_000), "binance_XLM-BTC_1h.csv",
          True),
    Asset("NEO", "Neo", "neo", 1376, Decimal(70_538_831), "binance_NEO-BTC_1h.csv", True),
)
BY_TICKER: Final = {a.ticker: a for a in ASSETS}
BY_GECKO_ID: Final = {a.gecko_id: a for a in ASSETS}
# Fixed rates for the other quote currencies the fakes accept (per USD).
FIAT_PER_USD: Final = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}
# Binance is one venue of many: the aggregators' 24 h volume is larger than its own.
_VOLUME_FACTOR: Final = 30
_PLACES: Final = Decimal("1e-10")
_SOURCES: Final = (("CoinDesk", "coindesk.com"), ("Cointelegraph", "cointelegraph.com"),
                   ("The Block", "theblock.co"), ("Decrypt", "decrypt.co"),
                   ("r/Bitcoin", "reddit.com"))
_TEMPLATES: Final = ("{name} climbs as traders eye the next resistance",
                     "{name} slips after a week of gains", "Analysts split on {name}'s next move",
                     "{name} network activity hits a monthly high",
                     "Exchange outflows of {name} grow", "{name} volatility at a three-week low")
POST_EVERY: Final = timedelta(minutes=17)


@dataclass(frozen=True, slots=True)
class Quote:
    """What the vendors say about one asset at one instant."""

    asset: Asset
    price: Decimal
    market_cap: Decimal
    volume_24h: Decimal
    rank: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Post:
    """One generated news post."""

    post_id: int
    title: str
    slug: str
    source_title: str
    domain: str
    published_at: datetime
    currencies: tuple[Asset, ...]
    positive: int
    negative: int
    important: int


@functools.lru_cache(maxsize=16)
def _candles(path: Path) -> tuple[tuple[Decimal, Decimal], ...]:
    with path.open(newline="") as handle:
        return tuple((Decimal(row["close"]), Decimal(row["volume"]))
                     for row in csv.DictReader(handle))


class MarketData:
    """Prices, news and metrics as pure functions of (seed, instant)."""

    def __init__(self, data_dir: Path | None = None, seed: int = 7) -> None:
        self.seed = seed
        folder = (data_dir or default_data_dir()) / "candles"
        self._series = {a.ticker: _candles(folder / a.candles) for a in ASSETS
                        if (folder / a.candles).is_file()}

    def _close(self, asset: Asset, hour: int) -> tuple[Decimal, Decimal]:
        rows = self._series.get(asset.ticker)
        if rows:
            return rows[hour % len(rows)]
        # No shared data: a seeded, smooth walk around a plausible 2018 level.
        base = {"BTC": 8000, "ETH": 500, "XRP": 0.00008, "XLM": 0.00003, "NEO": 0.005}
        rng = random.Random(f"{self.seed}:{asset.ticker}:{hour}")
        level = base[asset.ticker] * (1 + 0.05 * math.sin(hour / 24) + 0.01 * rng.random())
        return Decimal(repr(level)), Decimal(rng.randint(100, 10_000))

    def usd_price(self, asset: Asset, at: datetime) -> tuple[Decimal, Decimal]:
        """Return (USD price, base-unit volume of the hour) of ``asset`` at ``at``."""
        hour = int(at.timestamp()) // 3600
        close, volume = self._close(asset, hour)
        if asset.in_btc:
            close *= self._close(BY_TICKER["BTC"], hour)[0]
        return close.quantize(_PLACES).normalize(), volume

    def quotes(self, at: datetime, vs_currency: str) -> dict[str, Quote]:
        """Return every asset's quote at ``at`` in ``vs_currency`` (USD, EUR, GBP or BTC)."""
        usd = {a.ticker: self.usd_price(a, at) for a in ASSETS}
        caps = {t: price * BY_TICKER[t].supply for t, (price, _) in usd.items()}
        ranked = sorted(caps, key=lambda t: caps[t], reverse=True)
        rate = (1 / usd["BTC"][0] if vs_currency == "BTC" else FIAT_PER_USD[vs_currency])
        updated = at.replace(second=0, microsecond=0)
        return {t: Quote(
            asset=BY_TICKER[t], price=(price * rate).quantize(_PLACES).normalize(),
            market_cap=(caps[t] * rate).quantize(Decimal(1)),
            volume_24h=(volume * 24 * _VOLUME_FACTOR * price * rate).quantize(Decimal(1)),
            rank=ranked.index(t) + 1, updated_at=updated) for t, (price, volume) in usd.items()}

    def posts(self, at: datetime, count: int) -> list[Post]:
        """Return the ``count`` newest posts published at or before ``at``, newest first."""
        slot = int(at.timestamp()) // int(POST_EVERY.total_seconds())
        return [self._post(s) for s in range(slot, slot - count, -1)]

    def _post(self, slot: int) -> Post:
        rng = random.Random(f"{self.seed}:post:{slot}")
        about = rng.sample(ASSETS, k=rng.choice((1, 1, 2)))
        title = rng.choice(_TEMPLATES).format(name=about[0].name)
        source_title, domain = rng.choice(_SOURCES)
        return Post(
            post_id=slot, title=title, slug="-".join(title.replace("'", "").split()),
            source_title=source_title, domain=domain,
            published_at=datetime.fromtimestamp(slot * POST_EVERY.total_seconds(), UTC),
            currencies=tuple(about), positive=rng.randint(0, 25), negative=rng.randint(0, 12),
            important=rng.randint(0, 5))

    def metric(self, metric: str, asset: Asset, t: datetime) -> Decimal | int:
        """Return the value of a supported metric for the interval starting at ``t``."""
        if metric == "market/price_usd_close":
            return self.usd_price(asset, t)[0]
        if metric == "market/marketcap_usd":
            return (self.usd_price(asset, t)[0] * asset.supply).quantize(Decimal(1))
        rng = random.Random(f"{self.seed}:{metric}:{asset.ticker}:{int(t.timestamp())}")
        wave = math.sin(t.timestamp() / 86_400 / 7)
        if metric == "addresses/active_count":
            return int(asset.supply / 20_000 * Decimal(1 + 0.1 * wave) + rng.randint(0, 5000))
        if metric == "transactions/count":
            return int(asset.supply / 70_000 * Decimal(1 + 0.1 * wave) + rng.randint(0, 3000))
        if metric == "indicators/sopr":
            return Decimal(repr(1 + 0.02 * wave + rng.uniform(-0.01, 0.01))).quantize(
                Decimal("1e-12"))
        raise KeyError(metric)


METRICS: Final = frozenset({"market/price_usd_close", "market/marketcap_usd",
                            "addresses/active_count", "transactions/count", "indicators/sopr"})
