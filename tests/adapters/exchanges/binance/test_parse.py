"""Parsing every recorded Binance spot WebSocket fixture, and refusing corrupted variants."""

from __future__ import annotations

import copy
import gzip
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.exchanges.binance.errors import FeedRejected, RejectReason
from adapters.exchanges.binance.orderbook import DepthDiff
from adapters.exchanges.binance.parse import (
    BinanceParser,
    Ignored,
    IgnoreReason,
    decode_depth_snapshot,
    to_fixed,
)
from adapters.exchanges.binance.streams import StreamKind, StreamSpec, combined_stream_url
from domain.errors import InvalidValue
from domain.fixed import parse_raw
from domain.instruments import Instrument, InstrumentId, InstrumentKind
from domain.market import AggressorSide, Bar, Quote, Trade
from tests.adapters.exchanges.binance.recorded import BTCUSDT, DATA

FIXTURES = DATA / "binance_fixtures"
SPOT_WS = FIXTURES / "spot" / "ws"
RAW_CAPTURE = DATA / "raw" / "hftbacktest" / "examples_spot_btcusdt_20240808.gz"
ETHUSDT = Instrument(InstrumentId("BINANCE", "ETH", "USDT"), InstrumentKind.SPOT, 2, 8)
# The only kline payloads recorded are Binance's documentation example (usdm/ws, same shape as
# spot); its prices have four places, so this instrument carries eight.
BTCUSDT_FINE = Instrument(BTCUSDT.id, InstrumentKind.SPOT, 8, 8)
RECV_NS = 1_723_161_254_087_891_268  # local receive time of the bookTicker capture


def parser(*instruments: Instrument) -> BinanceParser:
    return BinanceParser(instruments or (BTCUSDT, ETHUSDT))


def parse(frame: bytes | str, *instruments: Instrument) -> Any:
    return parser(*instruments).parse_frame(frame, RECV_NS)


# -- every recorded fixture ------------------------------------------------------------------
def test_every_spot_ws_fixture_is_covered() -> None:
    covered = {"trade_BTCUSDT_2024-08-08_live.json", "trade_ETHUSDT_2021-12-12.json",
               "aggTrade.json", "bookTicker_BTCUSDT_2024-08-08_live.json",
               "bookTicker_ETHUSDT_2022-03-02.json", "depth_100ms_BTCUSDT_2024-08-08_live.json",
               "depthUpdate_BTCUSDT_2025-09-10.json", "24hrTicker.json"}
    assert {p.name for p in SPOT_WS.glob("*.json")} == covered


def test_live_trade() -> None:
    stream, trade = parse((SPOT_WS / "trade_BTCUSDT_2024-08-08_live.json").read_bytes())
    assert stream == "btcusdt@trade"
    assert trade == Trade(BTCUSDT.id, 1_723_161_255_342_000_000, 6_183_763, 2_000_000,
                          AggressorSide.SELL, "3735683259", 2, 8)


def test_trade_with_order_ids() -> None:
    stream, trade = parse((SPOT_WS / "trade_ETHUSDT_2021-12-12.json").read_bytes())
    assert (stream, trade.trade_id, trade.price, trade.size) == (
        "ethusdt@trade", "705291099", 414_974, 43_870_000)
    assert trade.aggressor is AggressorSide.SELL


def test_agg_trade_uses_the_aggregate_id() -> None:
    stream, trade = parse((SPOT_WS / "aggTrade.json").read_bytes())
    assert stream == "ethusdt@aggTrade"
    assert (trade.trade_id, trade.price, trade.size, trade.aggressor) == (
        "226532", 163_246, 34_305_000, AggressorSide.BUY)
    assert trade.ts_event == 1_675_759_520_847_000_000


def test_live_book_ticker_has_no_exchange_time_so_receive_time_is_used() -> None:
    stream, quote = parse((SPOT_WS / "bookTicker_BTCUSDT_2024-08-08_live.json").read_bytes())
    assert stream == "btcusdt@bookTicker"
    assert quote == Quote(BTCUSDT.id, RECV_NS, 6_183_763, 6_183_764, 378_826_000, 154_698_000,
                          2, 8)


def test_book_ticker_with_event_time() -> None:
    _, quote = parse((SPOT_WS / "bookTicker_ETHUSDT_2022-03-02.json").read_bytes())
    assert quote.ts_event == 1_646_199_228_123_000_000
    assert (quote.bid, quote.ask) == (450_724, 450_725)


def test_live_depth_diff() -> None:
    stream, diff = parse((SPOT_WS / "depth_100ms_BTCUSDT_2024-08-08_live.json").read_bytes())
    assert stream == "btcusdt@depth@100ms"
    assert isinstance(diff, DepthDiff)
    assert (diff.first_update_id, diff.final_update_id) == (50_093_239_189, 50_093_239_202)
    assert diff.bids[0] == (6_173_763, 0)
    assert diff.asks[0] == (6_183_764, 154_698_000)
    assert (len(diff.bids), len(diff.asks), diff.prev_final_update_id) == (3, 9, None)


def test_raw_depth_update_without_envelope() -> None:
    stream, diff = parse((SPOT_WS / "depthUpdate_BTCUSDT_2025-09-10.json").read_bytes())
    assert stream == "btcusdt@depth"
    assert (diff.first_update_id, diff.final_update_id) == (76_043_874_804, 76_043_875_762)
    doc = _load("depthUpdate_BTCUSDT_2025-09-10.json")
    for levels, side in ((diff.bids, "b"), (diff.asks, "a")):
        assert levels == tuple((parse_raw(p, 2), parse_raw(q, 8)) for p, q in doc[side])


def test_unsupported_event_is_refused_not_guessed() -> None:
    with pytest.raises(FeedRejected) as caught:
        parse((SPOT_WS / "24hrTicker.json").read_bytes())
    assert caught.value.reason is RejectReason.UNKNOWN_STREAM


def test_closed_kline_becomes_a_bar_and_an_open_one_is_ignored() -> None:
    usdm = FIXTURES / "usdm" / "ws"
    stream, bar = parse((usdm / "kline_closed.json").read_bytes(), BTCUSDT_FINE)
    assert stream == "btcusdt@kline_1m"
    assert bar == Bar(BTCUSDT.id, 1_638_747_660_000_000_000, 1_638_747_720_000_000_000,
                      100_000, 250_000, 100_000, 200_000, 100_000_000_000, 8, 8)
    _, ignored = parse((usdm / "kline_open.json").read_bytes(), BTCUSDT_FINE)
    assert ignored == Ignored(IgnoreReason.KLINE_OPEN)


def test_rest_depth_snapshot() -> None:
    body = (FIXTURES / "spot" / "rest" / "depth_limit1000_BTCUSDT_2024-08-08_live.json")
    snapshot = decode_depth_snapshot(body.read_bytes(), BTCUSDT)
    assert snapshot.last_update_id == 50_093_239_218
    assert (len(snapshot.bids), len(snapshot.asks)) == (1000, 1000)
    assert snapshot.bids[0] == (6_183_763, 378_826_000)
    assert snapshot.asks[0][0] == 6_183_764


@pytest.mark.parametrize("frame, reason", [
    (b'{"result":null,"id":1}', IgnoreReason.CONTROL),
    (b'{"event":{"e":"serverShutdown","E":1770123456789}}', IgnoreReason.SERVER_SHUTDOWN),
    (b'{"stream":"btcusdt@trade","data":{"e":"serverShutdown","E":1}}',
     IgnoreReason.SERVER_SHUTDOWN),
])
def test_control_frames_are_ignored(frame: bytes, reason: IgnoreReason) -> None:
    assert parse(frame).item == Ignored(reason)


def test_the_whole_raw_capture_parses_without_a_rejection() -> None:
    # Every WebSocket message of the 2024-08-08 capture, exactly as Binance sent it.
    kinds: Counter[str] = Counter()
    p = parser()
    with gzip.open(RAW_CAPTURE, "rb") as capture:
        for line in capture:
            frame = line.split(b" ", 1)[1]
            if frame.startswith(b'{"lastUpdateId"'):
                continue  # the REST snapshot recorded in between
            kinds[type(p.parse_frame(frame, RECV_NS).item).__name__] += 1
    assert kinds == {"Quote": 28_040, "Trade": 9_757, "DepthDiff": 3_451}


# -- corrupted variants -----------------------------------------------------------------------
def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SPOT_WS / name).read_text())
    return loaded


def _mutate(name: str, path: tuple[str | int, ...], value: object) -> bytes:
    doc = copy.deepcopy(_load(name))
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(doc).encode()


_DELETE = object()
TRADE = "trade_BTCUSDT_2024-08-08_live.json"
TICKER = "bookTicker_BTCUSDT_2024-08-08_live.json"
DEPTH = "depth_100ms_BTCUSDT_2024-08-08_live.json"
AGG = "aggTrade.json"
R = RejectReason

CORRUPTED = [
    (TRADE, ("data", "p"), _DELETE, R.SCHEMA),
    (TRADE, ("data", "p"), 61837.63, R.SCHEMA),
    (TRADE, ("data", "t"), "3735683259", R.SCHEMA),
    (TRADE, ("data", "m"), "true", R.SCHEMA),
    (TRADE, ("data", "e"), "aggTrade", R.SCHEMA),
    (TRADE, ("data", "T"), 0, R.SCHEMA),
    (TRADE, ("data", "p"), "-61837.63000000", R.NON_POSITIVE),
    (TRADE, ("data", "p"), "0.00000000", R.NON_POSITIVE),
    (TRADE, ("data", "q"), "0.00000000", R.NON_POSITIVE),
    (TRADE, ("data", "p"), "61837.635", R.BAD_NUMBER),
    (TRADE, ("data", "p"), "NaN", R.BAD_NUMBER),
    (TRADE, ("data", "p"), "1e5", R.BAD_NUMBER),
    (TRADE, ("data", "p"), " 61837.63", R.BAD_NUMBER),
    (TRADE, ("data", "p"), "6\u0663", R.BAD_NUMBER),
    (TRADE, ("data", "s"), "ETHUSDT", R.SYMBOL_MISMATCH),
    (TRADE, ("data",), [], R.SCHEMA),
    (TRADE, ("stream",), "btcusdt@ticker", R.UNKNOWN_STREAM),
    (TRADE, ("stream",), "xrpusdt@trade", R.UNKNOWN_SYMBOL),
    (AGG, ("data", "l"), 1, R.INCONSISTENT),
    (TICKER, ("data", "b"), "61837.65000000", R.CROSSED_BOOK),
    (TICKER, ("data", "b"), "61837.64000000", R.CROSSED_BOOK),
    (TICKER, ("data", "a"), "0.00000000", R.NON_POSITIVE),
    (TICKER, ("data", "B"), "-1.00000000", R.NON_POSITIVE),
    (TICKER, ("data", "u"), _DELETE, R.SCHEMA),
    (DEPTH, ("data", "b", 0), ["61837.64000000", "1.00000000"], R.CROSSED_BOOK),
    (DEPTH, ("data", "a", 1), ["-61839.85000000", "0.00000000"], R.NON_POSITIVE),
    (DEPTH, ("data", "a", 1), ["61839.85000000", "-1.00000000"], R.NON_POSITIVE),
    (DEPTH, ("data", "a", 1), ["61839.85000000"], R.SCHEMA),
    (DEPTH, ("data", "U"), 50093239203, R.INCONSISTENT),
    (DEPTH, ("data", "b"), _DELETE, R.SCHEMA),
]


@pytest.mark.parametrize("name, path, value, reason", CORRUPTED)
def test_corrupted_fixture_is_rejected(name: str, path: tuple[str | int, ...], value: object,
                                       reason: RejectReason) -> None:
    with pytest.raises(FeedRejected) as caught:
        parse(_mutate(name, path, value))
    assert caught.value.reason is reason


@pytest.mark.parametrize("frame", [b"", b"{", b'{"stream":', b"\xff\xfe", b"nul"])
def test_malformed_json_is_rejected(frame: bytes) -> None:
    with pytest.raises(FeedRejected) as caught:
        parse(frame)
    assert caught.value.reason is RejectReason.MALFORMED_JSON


def test_rejection_names_its_stream_for_counting() -> None:
    with pytest.raises(FeedRejected) as caught:
        parse(_mutate(TRADE, ("data", "p"), "-1"))
    assert caught.value.stream == "btcusdt@trade"


def test_subscribed_parser_refuses_other_streams() -> None:
    restricted = BinanceParser([BTCUSDT, ETHUSDT], streams=["btcusdt@trade"])
    with pytest.raises(FeedRejected) as caught:
        restricted.parse_frame((SPOT_WS / "trade_ETHUSDT_2021-12-12.json").read_bytes(), 0)
    assert caught.value.reason is RejectReason.UNKNOWN_STREAM


# -- numbers and names -----------------------------------------------------------------------
@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=8,
                   allow_nan=False, allow_infinity=False),
       st.integers(min_value=0, max_value=12))
def test_to_fixed_agrees_with_the_domain_parser(value: Decimal, precision: int) -> None:
    text = f"{value:.8f}"
    try:
        expected: int | None = parse_raw(text, precision)
    except InvalidValue:
        expected = None
    try:
        got: int | None = to_fixed(text, precision)
    except FeedRejected:
        got = None
    assert got == expected


@pytest.mark.parametrize("name, kind, symbol, interval", [
    ("btcusdt@trade", StreamKind.TRADE, "BTCUSDT", None),
    ("ethusdt@aggTrade", StreamKind.AGG_TRADE, "ETHUSDT", None),
    ("btcusdt@kline_15m", StreamKind.KLINE, "BTCUSDT", "15m"),
    ("btcusdt@bookTicker", StreamKind.BOOK_TICKER, "BTCUSDT", None),
    ("btcusdt@depth@100ms", StreamKind.DEPTH, "BTCUSDT", None),
])
def test_stream_names(name: str, kind: StreamKind, symbol: str, interval: str | None) -> None:
    spec = StreamSpec.parse(name)
    assert (spec.kind, spec.symbol) == (kind, symbol)
    assert (str(spec.interval) if spec.interval else None) == interval


def test_combined_stream_url() -> None:
    url = combined_stream_url("wss://stream.binance.com:9443/", ["btcusdt@trade", "btcusdt@depth"])
    assert url == "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@depth"
    with pytest.raises(ValueError, match="1024"):
        combined_stream_url("wss://x", [f"s{i}@trade" for i in range(1025)])


def test_fixture_folder_is_the_shared_one() -> None:
    assert isinstance(SPOT_WS, Path) and SPOT_WS.is_dir()
