"""Read candle CSVs (``ts,open,high,low,close,volume``; ts = bar open, ISO-8601 UTC).

Prices and volumes become fixed-point ints at the largest number of decimals the file uses, so
the CSV's decimal text is kept exactly. A malformed row aborts the read with an error naming
its line; nothing is skipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from domain.errors import InvalidValue
from domain.fixed import decimal_places, parse_raw, pow10
from domain.instruments import InstrumentId
from domain.market import bar_problem
from domain.series import BarSeries
from domain.timeframes import Timeframe

log = logging.getLogger(__name__)
COLUMNS = ("ts", "open", "high", "low", "close", "volume")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_PLAIN = re.compile(r"^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_NAME = re.compile(r"^(?P<venue>[A-Za-z0-9]+)[_-](?P<base>[A-Za-z0-9]+)-(?P<quote>[A-Za-z0-9]+)"
                   r"(?:_(?P<tf>\d+[smhdw]))?$")


class CsvFormatError(InvalidValue):
    """A candle CSV is malformed; the message names the file and line."""


def instrument_from_filename(path: Path) -> tuple[InstrumentId | None, Timeframe | None]:
    """Read ``<venue>_<BASE>-<QUOTE>_<tf>.csv`` (e.g. ``binance_BTC-USDT_1h.csv``) if it fits."""
    match = _NAME.match(path.stem)
    if not match:
        return None, None
    instrument = InstrumentId(match["venue"].upper(), match["base"].upper(),
                              match["quote"].upper())
    try:
        timeframe = Timeframe.parse(match["tf"]) if match["tf"] else None
    except InvalidValue:
        timeframe = None  # a name like x_A-B_0m.csv labels nothing; the data decides
    return instrument, timeframe


def read_candles_csv(
    path: Path, instrument_id: InstrumentId, timeframe: Timeframe | None = None
) -> BarSeries:
    """Read and validate a candle CSV into a ``BarSeries``.

    Without ``timeframe`` the bar length is the smallest spacing between rows.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        return parse_candles(handle, str(path), instrument_id, timeframe)


def parse_candles(
    lines: Iterable[str], source: str, instrument_id: InstrumentId,
    timeframe: Timeframe | None = None,
) -> BarSeries:
    """Parse candle CSV text; ``source`` names it in errors."""
    rows = _split(lines, source)
    price_dp = size_dp = 0
    for line_no, row in rows:
        for i in range(1, 6):
            try:
                places = decimal_places(_plain(row[i], COLUMNS[i]))
            except InvalidValue as exc:
                raise CsvFormatError(f"{source}:{line_no}: {COLUMNS[i]}: {exc}") from None
            if i == 5:
                size_dp = max(size_dp, places)
            else:
                price_dp = max(price_dp, places)
    ts_col: list[int] = []
    cols: list[list[int]] = [[], [], [], [], []]
    previous = None
    repeated: list[int] = []
    for line_no, row in rows:
        try:
            ts = _parse_ts(row[0])
            o, h, lo, c = (parse_raw(row[i], price_dp) for i in range(1, 5))
            v = parse_raw(row[5], size_dp)
        except InvalidValue as exc:
            raise CsvFormatError(f"{source}:{line_no}: {exc}") from None
        if previous is not None and ts <= previous:
            if ts < previous:
                raise CsvFormatError(
                    f"{source}:{line_no}: ts {row[0]} is before the previous row (rows must be "
                    "in time order)")
            # Bars are rows: a repeated open time is kept as its own row, but said out loud.
            repeated.append(line_no)
        problem = bar_problem(ts, ts + 1, o, h, lo, c, v)
        if problem:
            raise CsvFormatError(f"{source}:{line_no}: {problem}")
        previous = ts
        ts_col.append(ts)
        for column, value in zip(cols, (o, h, lo, c, v), strict=True):
            column.append(value)
    if repeated:
        shown = ", ".join(map(str, repeated[:10])) + (" ..." if len(repeated) > 10 else "")
        log.warning("%s: %d row(s) repeat the previous row's ts (kept as rows): line %s",
                    source, len(repeated), shown)
    spacing = _min_spacing_seconds(ts_col, rows, source)
    if timeframe is None:
        if spacing is None:
            raise CsvFormatError(f"{source}: one row gives no bar length; pass a timeframe")
        timeframe = Timeframe(spacing)
    return BarSeries(instrument_id, timeframe, price_dp, size_dp, ts_col, *cols)


def _split(lines: Iterable[str], source: str) -> list[tuple[int, list[str]]]:
    iterator = iter(lines)
    header = next(iterator, "").strip().lstrip("\ufeff")
    if tuple(name.strip().lower() for name in header.split(",")) != COLUMNS:
        raise CsvFormatError(f"{source}:1: header must be {','.join(COLUMNS)}, got {header!r}")
    rows = []
    for line_no, line in enumerate(iterator, start=2):
        text = line.strip()
        if not text:
            raise CsvFormatError(f"{source}:{line_no}: empty line")
        fields = text.split(",")
        if len(fields) != len(COLUMNS):
            raise CsvFormatError(
                f"{source}:{line_no}: expected {len(COLUMNS)} fields, got {len(fields)}")
        rows.append((line_no, [field.strip() for field in fields]))
    if not rows:
        raise CsvFormatError(f"{source}: no candles after the header")
    return rows


def _plain(text: str, name: str) -> str:
    if not _PLAIN.match(text):
        raise InvalidValue(f"{name} {text!r} is not a non-negative decimal number")
    return text


def _parse_ts(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"ts {text!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise InvalidValue(f"ts {text!r} has no UTC designator (add 'Z')")
    if moment.utcoffset() != timedelta(0):
        raise InvalidValue(f"ts {text!r} is not in UTC")
    return (moment - _EPOCH) // _MICRO * 1000


def _min_spacing_seconds(
    ts: list[int], rows: list[tuple[int, list[str]]], source: str
) -> int | None:
    gaps = [b - a for a, b in pairwise(ts) if b > a]
    if not gaps:
        return None
    smallest = min(gaps)
    if smallest % pow10(9):
        line_no = next(rows[i + 1][0] for i in range(len(ts) - 1) if ts[i + 1] - ts[i] == smallest)
        raise CsvFormatError(
            f"{source}:{line_no}: bars must be whole seconds apart (this row is not)")
    return smallest // pow10(9)
