"""Where raw market data comes from: CSV files (the default) or Binance's REST history via ccxt.

Both implement `MarketDataSource`, which the raw assets take as the resource ``market_data``.
`CsvMarketData` pointed at a test's folder is the fixture; `BinanceRestMarketData` pointed at
the local fake venue (``lockgate fake-venue``) is the exchange's stand-in, over real sockets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
from pydantic import Field

from adapters.exchanges.binance.rest import credentials_client, load_instruments
from adapters.exchanges.binance.rest_backfill import RestBackfiller
from adapters.secrets import default_secret_provider
from domain.market import Trade
from domain.series import BarSeries
from domain.timeframes import Timeframe
from orchestration.defs.market_data.files import read_candles, read_trades, trade_file_instrument
from orchestration.quality.limits import CandleLimits

_NS_PER_S = 1_000_000_000


class MarketDataSource(dg.ConfigurableResource["MarketDataSource"]):
    """Trades and venue candles for a UTC time range, in batches."""

    def trade_batches(self, start_ns: int, end_ns: int) -> AsyncIterator[Sequence[Trade]]:
        """Yield the trades with ``start_ns <= time < end_ns``, a batch at a time."""
        raise NotImplementedError

    def candle_batches(self, start_ns: int, end_ns: int) -> AsyncIterator[BarSeries]:
        """Yield the closed venue bars opening in ``[start_ns, end_ns)``, a series at a time."""
        raise NotImplementedError

    def data_days(self) -> set[date] | None:
        """Return the UTC days the source holds data for, or None if it cannot tell."""
        return None


class CsvMarketData(MarketDataSource):
    """Trade and candle CSV files in two folders (relative to the working directory)."""

    trades_dir: str = "data/trades"
    candles_dir: str = "data/candles"

    async def trade_batches(self, start_ns: int, end_ns: int) -> AsyncIterator[Sequence[Trade]]:
        """Yield each trade file's trades in the range (files named ``*_trades_*.csv``)."""
        for path in _csv_files(self.trades_dir):
            instrument = trade_file_instrument(path)
            if instrument is None:
                continue  # not a trade file this reader understands: left for load-trades
            trades = read_trades(path, instrument, start_ns, end_ns)
            if trades:
                yield trades

    async def candle_batches(self, start_ns: int, end_ns: int) -> AsyncIterator[BarSeries]:
        """Yield each candle file's bars in the range (files named ``venue_BASE-QUOTE_tf.csv``)."""
        for path in _csv_files(self.candles_dir):
            series = read_candles(path, start_ns, end_ns)
            if series is not None and len(series):
                yield series

    def data_days(self) -> set[date]:
        """Return the UTC days any trade or candle file has a row in."""
        days: set[date] = set()
        for path in _csv_files(self.trades_dir):
            instrument = trade_file_instrument(path)
            if instrument is not None:
                days.update(_day(trade.ts_event) for trade in read_trades(path, instrument))
        for path in _csv_files(self.candles_dir):
            series = read_candles(path)
            if series is not None:
                days.update(_day(ts) for ts in series.ts_open)
        return days


class BinanceRestMarketData(MarketDataSource):
    """Closed klines from Binance's REST API (or the local venue) through ccxt.

    Trades are not fetched by time range: ``GET /api/v3/historicalTrades`` pages by id, and
    ``lockgate backfill --trades`` already resumes by id; this source yields no trades.
    """

    rest_url: str = "https://api.binance.com"
    symbols: list[str] = Field(default_factory=lambda: ["BTC/USDT"])
    timeframes: list[str] = Field(default_factory=lambda: ["1m"])
    since: str = "2024-01-01"

    async def trade_batches(self, start_ns: int, end_ns: int) -> AsyncIterator[Sequence[Trade]]:
        """Yield nothing (see the class docstring)."""
        for _ in ():
            yield []

    async def candle_batches(self, start_ns: int, end_ns: int) -> AsyncIterator[BarSeries]:
        """Yield each symbol's and timeframe's closed klines in the range."""
        client = credentials_client(self.rest_url, self.rest_url.replace("http", "ws", 1),
                                    default_secret_provider())
        try:
            instruments = await load_instruments(client, [s.upper() for s in self.symbols])
            backfiller = RestBackfiller(client)
            now_ns = int(datetime.now(tz=UTC).timestamp()) * _NS_PER_S
            for instrument in instruments:
                for label in self.timeframes:
                    timeframe = Timeframe.parse(label)
                    # The last open time whose bar has closed by now, and lies in the range.
                    last_open = min(end_ns, now_ns - timeframe.nanos) - 1
                    if last_open < start_ns:
                        continue
                    bars = await backfiller.klines_between(instrument, timeframe, start_ns,
                                                           last_open)
                    series = BarSeries(instrument.id, timeframe, instrument.price_precision,
                                       instrument.size_precision)
                    for bar in bars:
                        if start_ns <= bar.ts_open < end_ns:
                            series.ts_open.append(bar.ts_open)
                            series.open.append(bar.open)
                            series.high.append(bar.high)
                            series.low.append(bar.low)
                            series.close.append(bar.close)
                            series.volume.append(bar.volume)
                    if len(series):
                        yield series
        finally:
            await client.close()

    def data_days(self) -> set[date]:
        """Return every day from ``since`` to today (the venue has history for all of them)."""
        first = date.fromisoformat(self.since)
        today = datetime.now(tz=UTC).date()
        return {first + timedelta(days=n) for n in range((today - first).days + 1)}


def _csv_files(folder: str) -> list[Path]:
    path = Path(folder).expanduser()
    return sorted(path.glob("*.csv")) if path.is_dir() else []


def _day(ts_ns: int) -> date:
    return datetime.fromtimestamp(ts_ns // _NS_PER_S, tz=UTC).date()


class CandleQuality(dg.ConfigurableResource["CandleQuality"]):
    """Thresholds of the candle suite (see `orchestration.quality.limits.CandleLimits`)."""

    max_gap_ratio: float = 0.05
    jump_sigmas: float = 25.0
    jump_floor: float = 0.10

    def limits(self) -> CandleLimits:
        """Return the thresholds as the suite takes them."""
        return CandleLimits(self.max_gap_ratio, self.jump_sigmas, self.jump_floor)
