"""Instrument ids, instruments with their venue filters, and timeframes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValue
from domain.instruments import Instrument, InstrumentId, InstrumentKind
from domain.timeframes import NANOS_PER_SECOND, Timeframe

BTC_USDT = InstrumentId("BINANCE", "BTC", "USDT")


# -- InstrumentId --------------------------------------------------------------------------
def test_parse_spot_id():
    # Act
    iid = InstrumentId.parse("BINANCE:BTC/USDT")

    # Assert
    assert (iid.venue, iid.base, iid.quote, iid.settle) == ("BINANCE", "BTC", "USDT", None)
    assert iid.symbol == "BTC/USDT"


def test_parse_perpetual_id_keeps_the_settlement_asset():
    iid = InstrumentId.parse("BINANCE:BTC/USDT:USDT")

    assert iid.settle == "USDT"
    assert iid.symbol == "BTC/USDT:USDT"
    assert iid != BTC_USDT


def test_parse_upper_cases_and_strips():
    assert InstrumentId.parse("  binance:btc/usdt ") == BTC_USDT


@pytest.mark.parametrize("text", [
    "BTC/USDT",               # no venue
    ":BTC/USDT",              # empty venue
    "BINANCE:BTCUSDT",        # no slash
    "BINANCE:/USDT",          # no base
    "BINANCE:BTC/",           # no quote
    "BINANCE::BTC/USDT",      # empty symbol
    "",
    "BIN ANCE:BTC/USDT",      # space in venue
    "1BINANCE:BTC/USDT",      # venue must start with a letter
    "BINANCE:BTC/US/DT",      # two slashes
    "BINANCE:BTC-X/USDT",     # punctuation in an asset
    "BINANCE:BTC/USDT:US-DT",  # punctuation in the settlement asset
    "BINANCE:BTC/USDT:USDT:X",  # too many parts
])
def test_parse_refuses_malformed_ids(text):
    with pytest.raises(InvalidValue):
        InstrumentId.parse(text)


@pytest.mark.parametrize("text", ["BINANCE:BTC/USDT", "BINANCE:BTC/USDT:USDT", "FTX:BTC/PERP",
                                  "BINANCE_FUT:ETH/BTC", "OKX-2:A1/B2:C3"])
def test_str_round_trips_through_parse(text):
    iid = InstrumentId.parse(text)

    assert str(iid) == text
    assert InstrumentId.parse(str(iid)) == iid


def test_equal_ids_hash_alike_and_work_as_dict_keys():
    # Arrange
    parsed = InstrumentId.parse("binance:btc/usdt")
    built = InstrumentId("BINANCE", "BTC", "USDT")

    # Act
    table = {built: "spot"}

    # Assert
    assert parsed == built
    assert hash(parsed) == hash(built)
    assert table[parsed] == "spot"
    assert hash(InstrumentId.parse("BINANCE:BTC/USDT:USDT")) != hash(built)


@pytest.mark.parametrize("fields", [("binance", "BTC", "USDT"), ("BINANCE", "btc", "USDT"),
                                    ("BINANCE", "BTC", "US DT"), ("BINANCE", "BTC", "USDT", "u")])
def test_constructor_validates_like_parse(fields):
    with pytest.raises(InvalidValue):
        InstrumentId(*fields)


def test_constructor_refuses_an_empty_settlement_asset():
    # settle="" would print as the spot id, yet compare and hash unlike it (a second key for
    # the same market); it must be None or a real asset.
    with pytest.raises(InvalidValue):
        InstrumentId("BINANCE", "BTC", "USDT", "")


_asset = st.from_regex(r"[A-Z0-9]{1,6}", fullmatch=True)
_venue = st.from_regex(r"[A-Z][A-Z0-9_-]{0,8}", fullmatch=True)


@given(_venue, _asset, _asset, st.none() | _asset)
def test_any_valid_id_round_trips_through_its_text(venue, base, quote, settle):
    iid = InstrumentId(venue, base, quote, settle)

    again = InstrumentId.parse(str(iid))

    assert again == iid
    assert hash(again) == hash(iid)


# -- Instrument ----------------------------------------------------------------------------
def _spot(**filters):
    return Instrument(BTC_USDT, InstrumentKind.SPOT, price_precision=2, size_precision=5,
                      **filters)


def test_an_instrument_without_filters_passes_any_order():
    assert _spot().check_order(Decimal("0.000001"), Decimal("0.001")) is None
    assert _spot().base == "BTC"
    assert _spot().quote == "USDT"


@pytest.mark.parametrize(("qty", "ok"), [("0.001", True), ("0.015", True), ("1", True),
                                         ("0.0015", False), ("0.00101", False)])
def test_step_size_filter(qty, ok):
    instrument = _spot(step_size=Decimal("0.001"))

    reason = instrument.check_order(Decimal(qty), None)

    if ok:
        assert reason is None
    else:
        assert reason is not None
        assert "step size 0.001" in reason


@pytest.mark.parametrize(("qty", "ok"), [("0.01", True), ("0.5", True), ("0.009", False)])
def test_min_qty_filter(qty, ok):
    reason = _spot(min_qty=Decimal("0.01")).check_order(Decimal(qty), Decimal(100))

    assert (reason is None) is ok
    if not ok:
        assert "below the minimum 0.01" in reason


@pytest.mark.parametrize(("price", "ok"), [("100.10", True), ("100", True), ("100.15", False),
                                           ("100.01", False)])
def test_tick_size_filter(price, ok):
    reason = _spot(tick_size=Decimal("0.1")).check_order(Decimal(1), Decimal(price))

    assert (reason is None) is ok
    if not ok:
        assert "tick size 0.1" in reason


@pytest.mark.parametrize(("qty", "price", "ok"), [("0.1", "100", True), ("0.2", "50", True),
                                                  ("0.099", "100", False)])
def test_min_notional_filter(qty, price, ok):
    reason = _spot(min_notional=Decimal(10)).check_order(Decimal(qty), Decimal(price))

    assert (reason is None) is ok
    if not ok:
        assert "notional" in reason
        assert "below the minimum 10" in reason


def test_min_notional_needs_a_price_to_apply():
    # A market order has no price yet: the notional filter cannot be judged here.
    assert _spot(min_notional=Decimal(10)).check_order(Decimal("0.001"), None) is None


@pytest.mark.parametrize("name", ["tick_size", "step_size", "min_qty", "min_notional"])
@pytest.mark.parametrize("bad", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
def test_filters_must_be_positive_finite(name, bad):
    with pytest.raises(InvalidValue, match=name):
        _spot(**{name: bad})


@pytest.mark.parametrize(("price_precision", "size_precision"), [(-1, 2), (2, 19), (19, 0)])
def test_precision_is_bounded(price_precision, size_precision):
    with pytest.raises(InvalidValue, match="precision"):
        Instrument(BTC_USDT, InstrumentKind.SPOT, price_precision, size_precision)


@pytest.mark.parametrize("leverage", [Decimal(2), Decimal("0.5"), Decimal(0)])
def test_spot_refuses_leverage(leverage):
    with pytest.raises(InvalidValue, match="leverage"):
        _spot(max_leverage=leverage)


def test_spot_accepts_unit_leverage_and_perpetual_accepts_more():
    assert _spot(max_leverage=Decimal("1.0")).max_leverage == 1
    perp = Instrument(InstrumentId.parse("BINANCE:BTC/USDT:USDT"), InstrumentKind.PERPETUAL,
                      2, 3, max_leverage=Decimal(20))
    assert perp.max_leverage == 20


@pytest.mark.parametrize("leverage", [Decimal(0), Decimal(-5), Decimal("NaN")])
def test_perpetual_refuses_non_positive_or_nan_leverage(leverage):
    # Every other numeric field of an instrument is checked to be positive and finite.
    with pytest.raises(InvalidValue, match="leverage"):
        Instrument(InstrumentId.parse("BINANCE:BTC/USDT:USDT"), InstrumentKind.PERPETUAL, 2, 3,
                   max_leverage=leverage)


# -- Timeframe -----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "seconds"), [("1s", 1), ("1m", 60), ("15m", 900),
                                               ("1h", 3600), ("4h", 14400), ("1d", 86400),
                                               ("1w", 604800), (" 30m ", 1800)])
def test_timeframe_parse(text, seconds):
    tf = Timeframe.parse(text)

    assert tf.seconds == seconds
    assert tf.nanos == seconds * NANOS_PER_SECOND


@pytest.mark.parametrize("text", ["1m", "15m", "1h", "4h", "1d", "1w", "90s", "36h", "2w"])
def test_timeframe_str_round_trips(text):
    assert str(Timeframe.parse(text)) == text


@pytest.mark.parametrize(("text", "canonical"), [("60m", "1h"), ("7d", "1w"), ("120s", "2m"),
                                                 ("24h", "1d")])
def test_timeframe_str_uses_the_largest_whole_unit(text, canonical):
    assert str(Timeframe.parse(text)) == canonical


@pytest.mark.parametrize("text", ["", "h", "1", "1H", "1.5h", "-1h", "1y", "1 h", "1hh", "0m",
                                  "0s"])
def test_timeframe_parse_refuses_malformed_text(text):
    with pytest.raises(InvalidValue):
        Timeframe.parse(text)


@pytest.mark.parametrize("seconds", [0, -60])
def test_timeframe_must_be_positive(seconds):
    with pytest.raises(InvalidValue, match="positive"):
        Timeframe(seconds)


def test_timeframes_order_by_duration():
    assert Timeframe.parse("1m") < Timeframe.parse("1h") < Timeframe.parse("1d")
    assert Timeframe.parse("60m") == Timeframe.parse("1h")
    assert hash(Timeframe.parse("60m")) == hash(Timeframe.parse("1h"))


@given(st.integers(min_value=1, max_value=10**8))
def test_any_timeframe_round_trips_through_its_text(seconds):
    tf = Timeframe(seconds)

    assert Timeframe.parse(str(tf)) == tf
