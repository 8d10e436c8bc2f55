"""Market data files as the raw assets read them: trade CSVs and candle CSVs, cut to a time range.

Trade files have the format of ``../shared/data/trades``: ``ts,price,qty,side,trade_id`` with
``ts`` in epoch milliseconds or ISO-8601 UTC and ``side`` the aggressor's; the file name names
the instrument (``binance_BTC-USDT_trades_20240808-20240809.csv``). Candle files are read by
``adapters.files.candles_csv`` (``binance_BTC-USDT_1h.csv``).

Prices and sizes become fixed-point ints at the largest number of decimals the whole file uses,
so every slice of one file has the same precision and the decimal text is kept exactly.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.files.candles_csv import instrument_from_filename, read_candles_csv
from domain.errors import InvalidValue
from domain.fixed import decimal_places, parse_raw
from domain.instruments import InstrumentId
from domain.market import AggressorSide, Trade
from domain.series import BarSeries

TRADE_COLUMNS = ("ts", "price", "qty", "side", "trade_id")
_TRADE_NAME = re.compile(r"^(?P<venue>[A-Za-z0-9]+)_(?P<base>[A-Za-z0-9]+)-(?P<quote>[A-Za-z0-9]+)"
                         r"_trades(?:_.*)?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_NS_PER_MS = 1_000_000
MAX_DECIMALS = 18  # the instruments table's precision limit


class TradeFileError(InvalidValue):
    """A trade CSV is malformed; the message names the file and line."""


def trade_file_instrument(path: Path) -> InstrumentId | None:
    """Return the instrument a trade file's name gives, or None if the name does not fit."""
    match = _TRADE_NAME.match(path.stem)
    if match is None:
        return None
    return InstrumentId(match["venue"].upper(), match["base"].upper(), match["quote"].upper())


def read_trades(path: Path, instrument_id: InstrumentId, start_ns: int | None = None,
                end_ns: int | None = None) -> list[Trade]:
    """Return the trades of ``path`` with ``start_ns <= time < end_ns`` (UTC nanoseconds)."""
    rows = list(_rows(path))
    price_dp = max((decimal_places(row[1]) for _, row in rows), default=0)
    size_dp = max((decimal_places(row[2]) for _, row in rows), default=0)
    if max(price_dp, size_dp) > MAX_DECIMALS:
        # Float artefacts (0.00031099999999999997) cannot be stored exactly: refuse the file
        # rather than round someone's data silently (``lockgate load-trades`` does the same).
        raise TradeFileError(f"{path}: values with up to {max(price_dp, size_dp)} decimals; "
                             f"at most {MAX_DECIMALS} are stored (round the file's values)")
    trades = []
    for line_no, (ts_text, price, qty, side, trade_id) in rows:
        try:
            ts = _parse_ts(ts_text)
            if (start_ns is not None and ts < start_ns) or (end_ns is not None and ts >= end_ns):
                continue
            trades.append(Trade(instrument_id, ts, parse_raw(price, price_dp),
                                parse_raw(qty, size_dp), AggressorSide(side.lower()), trade_id,
                                price_dp, size_dp))
        except (InvalidValue, ValueError) as exc:
            raise TradeFileError(f"{path}:{line_no}: {exc}") from None
    return trades


def read_candles(path: Path, start_ns: int | None = None,
                 end_ns: int | None = None) -> BarSeries | None:
    """Return the bars of a candle file opening in ``[start_ns, end_ns)``; None if unnamed.

    The timeframe is the one the file name gives (``_1h``), else the rows' spacing.
    """
    instrument, timeframe = instrument_from_filename(path)
    if instrument is None:
        return None
    series = read_candles_csv(path, instrument)
    if timeframe is not None:
        series.timeframe = timeframe
    keep = [i for i, ts in enumerate(series.ts_open)
            if (start_ns is None or ts >= start_ns) and (end_ns is None or ts < end_ns)]
    cut = BarSeries(series.instrument_id, series.timeframe, series.price_precision,
                    series.size_precision)
    for source, target in ((series.ts_open, cut.ts_open), (series.open, cut.open),
                           (series.high, cut.high), (series.low, cut.low),
                           (series.close, cut.close), (series.volume, cut.volume)):
        target.extend(source[i] for i in keep)
    return cut


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower().lstrip("\ufeff") for name in next(reader, [])]
        if tuple(header) != TRADE_COLUMNS:
            raise TradeFileError(f"{path}:1: header must be {','.join(TRADE_COLUMNS)}")
        for line_no, row in enumerate(reader, start=2):
            if len(row) != len(TRADE_COLUMNS):
                raise TradeFileError(
                    f"{path}:{line_no}: expected {len(TRADE_COLUMNS)} fields, got {len(row)}")
            yield line_no, [field.strip() for field in row]


def _parse_ts(text: str) -> int:
    if text.isdigit():
        return int(text) * _NS_PER_MS
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
        raise InvalidValue(f"ts {text!r} is not UTC (add 'Z')")
    return (moment - _EPOCH) // _MICRO * 1000
