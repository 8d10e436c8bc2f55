"""Candle CSV reading (adapters.files.candles_csv) and the trades report writer."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.files.candles_csv import (
    CsvFormatError,
    instrument_from_filename,
    parse_candles,
    read_candles_csv,
)
from adapters.files.reports import TRADE_COLUMNS, iso_utc, plain, write_trades_csv
from domain.fixed import from_raw
from domain.instruments import InstrumentId
from domain.timeframes import Timeframe
from engine.portfolio import RoundTrip

IID = InstrumentId.parse("BINANCE:BTC/USDT")
HEADER = "ts,open,high,low,close,volume"
CANDLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "candles"
T0_NS = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z

GOOD = [
    HEADER,
    "2024-01-01T00:00:00Z,42000.5,42100,41950.25,42050.125,1.5",
    "2024-01-01T00:05:00Z,42050.125,42080,42000,42010,0.25",
    "2024-01-01T00:06:00Z,42010,42010,41990.1,42000,3",
]


def _parse(lines, timeframe=None):
    return parse_candles([line + "\n" for line in lines], "mem.csv", IID, timeframe)


def _lines_with(row_3: str) -> list[str]:
    """The good file with its third line (second candle) replaced."""
    lines = list(GOOD)
    lines[2] = row_3
    return lines


# -- good input ----------------------------------------------------------------------------
def test_parse_scales_to_the_files_largest_decimal_places():
    # Act
    series = _parse(GOOD)

    # Assert: prices use 3 places (42050.125), volumes 2 (0.25)
    assert series.price_precision == 3
    assert series.size_precision == 2
    assert series.open == [42000500, 42050125, 42010000]
    assert series.high == [42100000, 42080000, 42010000]
    assert series.low == [41950250, 42000000, 41990100]
    assert series.close == [42050125, 42010000, 42000000]
    assert series.volume == [150, 25, 300]
    assert series.ts_open == [T0_NS, T0_NS + 300 * 10**9, T0_NS + 360 * 10**9]
    assert series.instrument_id == IID
    series.validate()


def test_timeframe_is_the_smallest_spacing():
    assert _parse(GOOD).timeframe == Timeframe.parse("1m")


def test_an_explicit_timeframe_is_kept():
    assert _parse(GOOD, Timeframe.parse("5m")).timeframe == Timeframe.parse("5m")


def test_a_single_row_needs_an_explicit_timeframe():
    assert len(_parse(GOOD[:2], Timeframe.parse("1h"))) == 1
    with pytest.raises(CsvFormatError, match="pass a timeframe"):
        _parse(GOOD[:2])


def test_exact_decimals_survive_the_round_trip():
    series = _parse(GOOD)

    closes = [from_raw(raw, series.price_precision) for raw in series.close]
    volumes = [from_raw(raw, series.size_precision) for raw in series.volume]

    assert closes == [Decimal("42050.125"), Decimal("42010"), Decimal("42000")]
    assert volumes == [Decimal("1.5"), Decimal("0.25"), Decimal("3")]


def test_header_is_case_insensitive_and_may_carry_a_bom_and_spaces():
    lines = ["\ufeffTS, Open ,HIGH,low,close,Volume", *GOOD[1:]]

    assert len(_parse(lines)) == 3


def test_exponent_notation_and_utc_offset_are_accepted():
    lines = [HEADER,
             "2024-01-01T00:00:00+00:00,1.5e2,151,149,150,2E-3",
             "2024-01-01T00:01:00Z,150,150,150,150,0"]

    series = _parse(lines)

    assert series.price_precision == 0
    assert series.open == [150, 150]
    assert series.size_precision == 3
    assert series.volume == [2, 0]


_price = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=8,
                     allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(_price, _price, _price, _price,
                          st.decimals(min_value=0, max_value=Decimal(10**6), places=6)),
                min_size=2, max_size=10))
def test_any_valid_file_keeps_its_exact_decimals(rows):
    # Arrange
    lines = [HEADER]
    expected = []
    for i, (a, b, c, d, volume) in enumerate(rows):
        o, cl = a, b
        high, low = max(a, b, c, d), min(a, b, c, d)
        ts = iso_utc(T0_NS + i * 3600 * 10**9)
        lines.append(f"{ts},{o},{high},{low},{cl},{volume}")
        expected.append((o, high, low, cl, volume))

    # Act
    series = _parse(lines)

    # Assert
    pp, sp = series.price_precision, series.size_precision
    got = [(from_raw(o, pp), from_raw(h, pp), from_raw(lo, pp), from_raw(c, pp), from_raw(v, sp))
           for o, h, lo, c, v in zip(series.open, series.high, series.low, series.close,
                                     series.volume, strict=True)]
    assert got == expected
    assert series.timeframe == Timeframe.parse("1h")


def test_a_volume_with_many_digits_is_kept_exactly_or_refused():
    # 30 significant digits: more than the default decimal context holds.
    lines = [HEADER,
             "2024-01-01T00:00:00Z,1,1,1,1,123456789012.123456789012345678",
             "2024-01-01T00:01:00Z,1,1,1,1,0"]

    try:
        series = _parse(lines)
        outcome = from_raw(series.volume[0], series.size_precision)
    except CsvFormatError:
        outcome = "refused"  # refusing the row is acceptable; rounding it silently is not

    assert outcome in (Decimal("123456789012.123456789012345678"), "refused")


def test_read_candles_csv_reads_a_file(tmp_path):
    # Arrange
    path = tmp_path / "binance_BTC-USDT_1m.csv"
    path.write_text("\n".join(GOOD) + "\n", encoding="utf-8")

    # Act
    series = read_candles_csv(path, IID)

    # Assert
    assert len(series) == 3
    assert series.close[-1] == 42000000


def test_read_candles_csv_on_a_shared_file():
    # Arrange
    path = CANDLES / "binance_BTC-USDT_1h.csv"
    assert path.is_file(), f"shared candle file missing: {path}"

    # Act
    series = read_candles_csv(path, IID)

    # Assert
    assert len(series) == 499
    assert series.timeframe == Timeframe.parse("1h")
    assert from_raw(series.open[0], series.price_precision) == Decimal("6858.99")
    assert from_raw(series.volume[0], series.size_precision) == Decimal("3005.47648")
    series.validate()


# -- malformed input -----------------------------------------------------------------------
MALFORMED_IDS = [
    "header-missing-column",
    "header-renamed",
    "no-header",
    "5-fields",
    "7-fields",
    "bad-number-abc",
    "empty-volume",
    "two-points",
    "underscore",
    "dangling-exponent",
    "word-with-e",
    "exponent-overflow",
    "nan",
    "NaN",
    "inf",
    "Infinity",
    "negative-price",
    "negative-volume",
    "zero-price",
    "high-below-close",
    "low-above-open",
    "ts-going-back",
    "naive-ts",
    "plus-2h-offset",
    "minus-5h-offset",
    "not-iso",
    "blank-line",
    "empty-file",
]


@pytest.mark.parametrize(("lines", "line_no", "message"), [
    (["ts,open,high,low,close", *GOOD[1:]], 1, "header must be"),
    (["time,open,high,low,close,volume", *GOOD[1:]], 1, "header must be"),
    (["2024-01-01T00:00:00Z,1,1,1,1,1", *GOOD[1:]], 1, "header must be"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,1"), 3, "expected 6 fields, got 5"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,1,1,1"), 3, "expected 6 fields, got 7"),
    (_lines_with("2024-01-01T00:05:00Z,1,abc,1,1,1"), 3, "high 'abc'"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,1,"), 3, "volume ''"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,1.2.3,1"), 3, "close"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,1,1_000"), 3, "volume"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,1.5e,1"), 3, "close"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,one,1"), 3, "close"),
    (_lines_with("2024-01-01T00:05:00Z,1,1e999999999,1,1,1"), 3, "high"),
    (_lines_with("2024-01-01T00:05:00Z,nan,1,1,1,1"), 3, "open 'nan'"),
    (_lines_with("2024-01-01T00:05:00Z,1,NaN,1,1,1"), 3, "high 'NaN'"),
    (_lines_with("2024-01-01T00:05:00Z,1,inf,1,1,1"), 3, "high 'inf'"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,1,Infinity"), 3, "volume 'Infinity'"),
    (_lines_with("2024-01-01T00:05:00Z,-1,1,-2,1,1"), 3, "open '-1'"),
    (_lines_with("2024-01-01T00:05:00Z,1,1,1,1,-5"), 3, "volume '-5'"),
    (_lines_with("2024-01-01T00:05:00Z,0,1,0,1,1"), 3, "prices must be positive"),
    (_lines_with("2024-01-01T00:05:00Z,100,101,99,102,1"), 3, "high is below"),  # high < close
    (_lines_with("2024-01-01T00:05:00Z,100,105,101,102,1"), 3, "low is above"),  # low > open
    (_lines_with("2023-12-31T23:59:00Z,1,1,1,1,1"), 3, "before the previous row"),
    (_lines_with("2024-01-01T00:05:00,1,1,1,1,1"), 3, "no UTC designator"),
    (_lines_with("2024-01-01T02:05:00+02:00,1,1,1,1,1"), 3, "not in UTC"),
    (_lines_with("2024-01-01T00:05:00-05:00,1,1,1,1,1"), 3, "not in UTC"),
    (_lines_with("01/01/2024 00:05,1,1,1,1,1"), 3, "not an ISO-8601 timestamp"),
    (_lines_with(""), 3, "empty line"),
    ([], 1, "header must be"),
], ids=MALFORMED_IDS)
def test_malformed_input_aborts_naming_the_line(lines, line_no, message):
    with pytest.raises(CsvFormatError) as caught:
        _parse(lines)

    text = str(caught.value)
    assert text.startswith(f"mem.csv:{line_no}: "), text
    assert message in text


def test_an_empty_file_aborts_at_line_1(tmp_path):
    # Arrange
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")

    # Act / Assert
    with pytest.raises(CsvFormatError, match=r"empty\.csv:1: header must be"):
        read_candles_csv(path, IID)


def test_a_header_without_rows_aborts():
    with pytest.raises(CsvFormatError, match="no candles after the header"):
        _parse([HEADER])


def test_a_bad_row_late_in_a_file_names_its_line(tmp_path):
    # Arrange: 50 good hourly rows, then a row whose high is below its close
    rows = [HEADER] + [f"{iso_utc(T0_NS + i * 3600 * 10**9)},10,11,9,10,1" for i in range(50)]
    rows.append(f"{iso_utc(T0_NS + 50 * 3600 * 10**9)},10,10,9,10.5,1")
    path = tmp_path / "late.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    # Act / Assert
    with pytest.raises(CsvFormatError, match=r"late\.csv:52: high is below"):
        read_candles_csv(path, IID)


# -- file names ----------------------------------------------------------------------------
def test_instrument_from_filename():
    instrument_id, timeframe = instrument_from_filename(Path("data/binance_BTC-USDT_1h.csv"))

    assert instrument_id == InstrumentId.parse("BINANCE:BTC/USDT")
    assert timeframe == Timeframe.parse("1h")


@pytest.mark.parametrize(("name", "iid", "tf"), [
    ("bittrex_XRP-BTC_30m.csv", "BITTREX:XRP/BTC", "30m"),
    ("binance_eth-usdt_4h.csv", "BINANCE:ETH/USDT", "4h"),
    ("binance_BTC-USDT.csv", "BINANCE:BTC/USDT", None),
])
def test_instrument_from_other_filenames(name, iid, tf):
    instrument_id, timeframe = instrument_from_filename(Path(name))

    assert instrument_id == InstrumentId.parse(iid)
    assert timeframe == (Timeframe.parse(tf) if tf else None)


@pytest.mark.parametrize("name", ["candles.csv", "BTCUSDT_1h.csv", "binance_BTCUSDT_1h.csv"])
def test_instrument_from_filename_without_the_pattern(name):
    assert instrument_from_filename(Path(name)) == (None, None)


# -- trades report -------------------------------------------------------------------------
def _trip(entry_ts, qty, px, exit_ts=None, exit_px=None, fees="0"):
    trip = RoundTrip(IID, "s", entry_ts, entry_qty=Decimal(qty),
                     entry_cost=Decimal(qty) * Decimal(px), first_entry_px=Decimal(px),
                     entry_fills=1, fees=Decimal(fees))
    if exit_ts is not None:
        trip.exit_ts = exit_ts
        trip.exit_qty = Decimal(qty)
        trip.exit_proceeds = Decimal(qty) * Decimal(exit_px)
        trip.first_exit_px = Decimal(exit_px)
        trip.exit_fills = 1
    return trip


def test_write_trades_csv_columns_and_rows(tmp_path):
    # Arrange
    closed = _trip(T0_NS, "0.5", "42000.10", T0_NS + 3600 * 10**9, "43000", fees="42.5")
    still_open = _trip(T0_NS + 7200 * 10**9, "0.25", "40000", fees="10")
    path = tmp_path / "trades.csv"

    # Act
    write_trades_csv(path, [closed, still_open], mark=Decimal("41000"))

    # Assert
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(TRADE_COLUMNS)
    assert rows[0] == ["entry_ts", "entry_price", "exit_ts", "exit_price", "qty", "pnl", "fees"]
    assert rows[1] == ["2024-01-01T00:00:00Z", "42000.1", "2024-01-01T01:00:00Z", "43000",
                       "0.5", "457.45", "42.5"]  # 0.5 * (43000 - 42000.10) - 42.5
    assert rows[2] == ["2024-01-01T02:00:00Z", "40000", "", "", "0.25", "240", "10"]
    assert len(rows) == 3


def test_write_trades_csv_with_no_trips_writes_the_header(tmp_path):
    path = tmp_path / "none.csv"

    write_trades_csv(path, [], mark=None)

    assert path.read_text(encoding="utf-8") == ",".join(TRADE_COLUMNS) + "\n"


def test_iso_utc_and_plain_formatting():
    assert iso_utc(T0_NS) == "2024-01-01T00:00:00Z"
    assert iso_utc(T0_NS + 1_500_000) == "2024-01-01T00:00:00.0015Z"
    assert plain(Decimal("1E+3")) == "1000"
    assert plain(Decimal("0.000")) == "0"
    assert plain(Decimal("2.50")) == "2.5"


def test_a_repeated_timestamp_is_kept_as_a_row_and_warned_about(caplog):
    # Arrange: the second candle repeats the first one's open time (bars are rows).
    lines = _lines_with("2024-01-01T00:00:00Z,42050.125,42080,42000,42010,0.25")

    # Act
    with caplog.at_level("WARNING"):
        series = _parse(lines)

    # Assert
    assert series.ts_open == [T0_NS, T0_NS, T0_NS + 360 * 10**9]
    assert series.timeframe == Timeframe(360)  # smallest *positive* spacing
    assert "repeat the previous row's ts" in caplog.text
    assert "line 3" in caplog.text
