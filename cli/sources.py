"""Where a backtest's bars come from: a CSV file, or the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.files.candles_csv import instrument_from_filename, read_candles_csv
from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from domain.series import BarSeries
from domain.timeframes import Timeframe


def instrument_id(exchange: str | None, symbol: str | None,
                  named: InstrumentId | None = None) -> InstrumentId | None:
    """Combine --exchange and --symbol (each may fall back to what a file name said)."""
    if exchange is None and symbol is None:
        return named
    venue = exchange or (named.venue if named else None)
    pair = symbol or (named.symbol if named else None)
    if not venue or not pair:
        raise InvalidValue("give both --exchange and --symbol (or neither)")
    return InstrumentId.parse(f"{venue}:{pair}")


def csv_series(path: Path, exchange: str | None, symbol: str | None,
               timeframe: str | None) -> BarSeries:
    """Read a candle CSV, naming the instrument and timeframe from options or the file name."""
    named, named_tf = instrument_from_filename(path)
    iid = instrument_id(exchange, symbol, named)
    if iid is None:
        iid = InstrumentId("CSV", path.stem.upper().replace("-", "").replace("_", "")[:20]
                           or "ASSET", "QUOTE")
    series = read_candles_csv(path, iid)
    # A file named ..._4h.csv holds 4h bars even where two rows sit closer (real data has such
    # quirks): bars are rows, the name only labels them.
    if named_tf is not None:
        series.timeframe = named_tf
    wanted = Timeframe.parse(timeframe) if timeframe else None
    if wanted is None or wanted == series.timeframe:
        return series
    if wanted < series.timeframe:
        raise InvalidValue(f"the CSV holds {series.timeframe} bars; cannot make {wanted} bars")
    return series.resample(wanted)


async def db_series(conn: Any, exchange: str, symbol: str, timeframe: str) -> BarSeries:
    """Read stored candles of one instrument and timeframe."""
    from adapters.storage.candles import CandleStore

    iid = instrument_id(exchange, symbol)
    assert iid is not None
    series: BarSeries = await CandleStore(conn).load_bars(iid, Timeframe.parse(timeframe))
    if not len(series):
        raise InvalidValue(f"no {timeframe} candles stored for {iid}; run lockgate load-candles")
    return series
