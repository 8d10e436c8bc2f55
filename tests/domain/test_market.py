"""Bars, trades and quotes, and the columnar BarSeries (validation and resampling)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValue
from domain.instruments import InstrumentId
from domain.market import AggressorSide, Bar, Quote, Trade, bar_problem
from domain.series import BarSeries
from domain.timeframes import Timeframe

IID = InstrumentId.parse("BINANCE:BTC/USDT")
MINUTE = 60 * 10**9
T0 = 1_700_000_100 * 10**9  # 2023-11-14T22:15:00Z, a multiple of 5 minutes
M1 = Timeframe.parse("1m")
M5 = Timeframe.parse("5m")


def _bar(ts_open=0, ts_close=MINUTE, o=100, h=110, lo=90, c=105, v=7):
    return Bar.checked(IID, ts_open, ts_close, o, h, lo, c, v, 2, 3)


# -- Bar -----------------------------------------------------------------------------------
def test_checked_bar_keeps_its_fields_and_converts_prices():
    bar = _bar(o=10050, h=10100, lo=10000, c=10075)

    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (10050, 10100, 10000, 10075, 7)
    assert bar.price(bar.close) == Decimal("100.75")


@pytest.mark.parametrize(("fields", "message"), [
    ({"ts_close": 0}, "closes before it opens"),
    ({"ts_open": 10, "ts_close": 5}, "closes before it opens"),
    ({"o": 0}, "positive"),
    ({"lo": -1}, "positive"),
    ({"c": 0, "lo": 0}, "positive"),
    ({"v": -1}, "volume"),
    ({"h": 104}, "high is below"),      # high < close
    ({"h": 99}, "high is below"),       # high < open
    ({"h": 89}, "high is below"),       # high < low
    ({"lo": 101}, "low is above"),      # low > open
    ({"lo": 106, "h": 110}, "low is above"),
    ({"o": 95, "lo": 96}, "low is above"),
    ({"c": 95, "lo": 96}, "low is above"),  # low > close
])
def test_checked_bar_refuses_broken_invariants(fields, message):
    with pytest.raises(InvalidValue, match=message):
        _bar(**fields)


def test_a_flat_bar_with_zero_volume_is_valid():
    bar = _bar(o=100, h=100, lo=100, c=100, v=0)

    assert bar.high == bar.low


def test_bars_are_immutable():
    bar = _bar()

    with pytest.raises(AttributeError):
        bar.close = 1  # type: ignore[misc]


@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=4, max_size=4),
       st.integers(min_value=0, max_value=10**9))
def test_bar_from_sorted_prices_is_always_valid(prices, volume):
    # Any open and close with high = max and low = min of them make a valid bar.
    o, c = prices[0], prices[1]
    high, low = max(prices), min(prices)

    assert bar_problem(0, 1, o, high, low, c, volume) is None


# -- Trade and Quote -----------------------------------------------------------------------
def _trade(price=100, size=1):
    return Trade(IID, 1, price, size, AggressorSide.BUY, "t-1", 2, 3)


def test_trade_is_built():
    trade = _trade()

    assert trade.aggressor is AggressorSide.BUY
    assert trade.price == 100


@pytest.mark.parametrize(("price", "size"), [(0, 1), (-5, 1), (100, 0), (100, -1)])
def test_trade_needs_positive_price_and_size(price, size):
    with pytest.raises(InvalidValue, match="positive price and size"):
        _trade(price, size)


def _quote(bid=100, ask=101, bid_size=1, ask_size=1):
    return Quote(IID, 1, bid, ask, bid_size, ask_size, 2, 3)


def test_quote_is_built_and_a_locked_quote_is_allowed():
    assert _quote().ask == 101
    assert _quote(bid=100, ask=100).bid == 100
    assert _quote(bid_size=0, ask_size=0).bid_size == 0


def test_crossed_quote_is_refused():
    with pytest.raises(InvalidValue, match="bid must not exceed its ask"):
        _quote(bid=102, ask=101)


@pytest.mark.parametrize("fields", [{"bid": 0}, {"ask": 0}, {"bid": -1}, {"bid_size": -1},
                                    {"ask_size": -1}])
def test_quote_needs_positive_prices_and_non_negative_sizes(fields):
    with pytest.raises(InvalidValue, match="positive prices"):
        _quote(**fields)


def test_decoding_a_crossed_quote_from_the_wire_is_refused_too():
    # Arrange
    wire = msgspec.json.encode(_quote())
    crossed = wire.replace(b'"bid":100', b'"bid":200')

    # Act / Assert
    with pytest.raises((InvalidValue, msgspec.ValidationError)):
        msgspec.json.decode(crossed, type=Quote)


# -- BarSeries -----------------------------------------------------------------------------
def _series(rows, timeframe=M1, start=T0):
    """Rows of (minute offset, o, h, l, c, v)."""
    series = BarSeries(IID, timeframe, 2, 3)
    for minute, o, h, lo, c, v in rows:
        series.ts_open.append(start + minute * MINUTE)
        series.open.append(o)
        series.high.append(h)
        series.low.append(lo)
        series.close.append(c)
        series.volume.append(v)
    return series


GOOD_ROWS = [(0, 100, 110, 95, 105, 1), (1, 105, 108, 101, 102, 2), (2, 102, 104, 99, 103, 3)]


def test_validate_accepts_good_rows():
    series = _series(GOOD_ROWS)

    series.validate()

    assert len(series) == 3


@pytest.mark.parametrize(("row", "bad", "message"), [
    (1, (1, 105, 100, 101, 102, 2), "row 1: high is below"),
    (2, (2, 102, 104, 103, 103, 3), "row 2: low is above"),
    (0, (0, 0, 110, 95, 105, 1), "row 0: prices must be positive"),
    (2, (2, 102, 104, 99, 103, -3), "row 2: volume must not be negative"),
    (2, (0, 102, 104, 99, 103, 3), "row 2: open time is before"),
])
def test_validate_names_the_bad_row(row, bad, message):
    # Arrange
    rows = list(GOOD_ROWS)
    rows[row] = bad
    series = _series(rows)

    # Act / Assert
    with pytest.raises(InvalidValue, match=message):
        series.validate()


def test_validate_refuses_ragged_columns():
    series = _series(GOOD_ROWS)
    series.volume.pop()

    with pytest.raises(InvalidValue, match="differ in length"):
        series.validate()


def test_iterating_yields_bars_closing_one_timeframe_later():
    bars = list(_series(GOOD_ROWS))

    assert [b.ts_open for b in bars] == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    assert all(b.ts_close == b.ts_open + MINUTE for b in bars)
    assert [b.close for b in bars] == [105, 102, 103]
    assert all(b.price_precision == 2 and b.size_precision == 3 for b in bars)


def test_min_spacing_is_the_smallest_gap():
    series = _series([(0, 1, 1, 1, 1, 0), (3, 1, 1, 1, 1, 0), (5, 1, 1, 1, 1, 0)])

    assert series.min_spacing_seconds() == 120
    assert _series(GOOD_ROWS[:1]).min_spacing_seconds() is None


def test_resample_1m_to_5m_aggregates_each_bucket():
    # Arrange: minutes 0-4 fill the first bucket, 5-6 the second, 7-14 are missing,
    # 15 and 19 fall in the fourth bucket.
    rows = [
        (0, 100, 105, 99, 104, 1),
        (1, 104, 110, 103, 109, 2),
        (2, 109, 109, 95, 96, 3),
        (3, 96, 100, 96, 99, 4),
        (4, 99, 101, 98, 100, 5),
        (5, 100, 102, 100, 101, 10),
        (6, 101, 101, 90, 91, 20),
        (15, 91, 93, 91, 92, 7),
        (19, 92, 99, 88, 98, 8),
    ]
    series = _series(rows)

    # Act
    out = series.resample(M5)

    # Assert
    assert out.timeframe == M5
    assert out.ts_open == [T0, T0 + 5 * MINUTE, T0 + 15 * MINUTE]  # no bar for 10-14
    assert out.open == [100, 100, 91]
    assert out.high == [110, 102, 99]
    assert out.low == [95, 90, 88]
    assert out.close == [100, 91, 98]
    assert out.volume == [15, 30, 15]
    assert (out.price_precision, out.size_precision) == (2, 3)
    out.validate()


def test_resample_aligns_buckets_to_the_epoch():
    # A series starting 2 minutes into a 5-minute bucket opens that bucket at its boundary.
    series = _series([(2, 10, 11, 9, 10, 1), (3, 10, 12, 10, 11, 1), (5, 11, 11, 11, 11, 1)])

    out = series.resample(M5)

    assert out.ts_open == [T0, T0 + 5 * MINUTE]
    assert out.open == [10, 11]
    assert out.high == [12, 11]


def test_resample_to_a_timeframe_that_is_not_a_multiple_is_refused():
    with pytest.raises(InvalidValue, match="not a whole multiple"):
        _series(GOOD_ROWS, timeframe=Timeframe.parse("2m")).resample(Timeframe.parse("3m"))


def test_resample_leaves_the_source_untouched():
    series = _series(GOOD_ROWS)
    before = (list(series.ts_open), list(series.high), list(series.volume))

    series.resample(M5)

    assert (series.ts_open, series.high, series.volume) == before


_rows = st.lists(
    st.tuples(st.integers(min_value=1, max_value=3),  # gap to the previous row, in minutes
              st.lists(st.integers(min_value=1, max_value=1000), min_size=4, max_size=4),
              st.integers(min_value=0, max_value=1000)),
    min_size=1, max_size=60,
)


@given(_rows, st.sampled_from([2, 3, 5, 15, 60]))
def test_resample_preserves_totals_and_extremes(raw_rows, factor):
    # Arrange
    rows, minute = [], 0
    for gap, prices, volume in raw_rows:
        minute += gap
        o, c = prices[0], prices[1]
        rows.append((minute, o, max(prices), min(prices), c, volume))
    series = _series(rows)

    # Act
    out = series.resample(Timeframe(60 * factor))

    # Assert
    out.validate()
    assert sum(out.volume) == sum(series.volume)
    assert max(out.high) == max(series.high)
    assert min(out.low) == min(series.low)
    assert out.open[0] == series.open[0]
    assert out.close[-1] == series.close[-1]
    assert len(out) == len({ts - ts % (60 * factor * 10**9) for ts in series.ts_open})
