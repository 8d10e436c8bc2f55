"""The local order book rebuilt from the recorded 2024-08-08/09 BTCUSDT capture.

orderbook/binance_BTC-USDT_depth_20240808-20240809.csv.gz holds, in capture order, the
``btcusdt@depth@100ms`` diffs (one row per level, ids ``U``/``u``) and the one REST snapshot
(``kind=snapshot``, ``last_update_id`` = ``lastUpdateId``), including diffs received before the
snapshot. quotes/..._quotes_... holds the ``btcusdt@bookTicker`` messages with their update id
``u``; where it equals a diff's final ``u`` the book's top must equal the ticker's.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import groupby

import pytest

from adapters.exchanges.binance.orderbook import (
    BookStatus,
    DepthDiff,
    DepthSnapshot,
    LocalOrderBook,
)
from adapters.exchanges.binance.parse import decode_depth_snapshot, to_fixed
from tests.adapters.exchanges.binance.recorded import BTCUSDT, DATA

DEPTH_CSV = DATA / "orderbook" / "binance_BTC-USDT_depth_20240808-20240809.csv.gz"
QUOTES_CSV = DATA / "quotes" / "binance_BTC-USDT_quotes_20240808-20240809.csv.gz"
REST_SNAPSHOT = DATA / "binance_fixtures" / "spot" / "rest" / (
    "depth_limit1000_BTCUSDT_2024-08-08_live.json")
IID = BTCUSDT.id


@cache
def _price(text: str) -> int:
    return to_fixed(text, 2)


@cache
def _size(text: str) -> int:
    return to_fixed(text, 8)


@dataclass(frozen=True)
class Capture:
    """The recorded depth events in capture order, and the tops of book by update id."""

    events: list[DepthDiff | DepthSnapshot]
    tops: dict[int, tuple[int, int, int, int]]

    def diffs(self) -> Iterator[DepthDiff]:
        return (e for e in self.events if isinstance(e, DepthDiff))


def _read_events() -> list[DepthDiff | DepthSnapshot]:
    events: list[DepthDiff | DepthSnapshot] = []
    with gzip.open(DEPTH_CSV, "rt", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows)
        assert header == ["ts", "ts_local", "kind", "first_update_id", "last_update_id",
                          "prev_last_update_id", "side", "price", "qty"]
        # One message = consecutive rows sharing receive time, kind and ids.
        for (_, kind, first, last), group in groupby(rows, key=lambda r: tuple(r[1:5])):
            levels = list(group)
            bids = tuple((_price(r[7]), _size(r[8])) for r in levels if r[6] == "bid")
            asks = tuple((_price(r[7]), _size(r[8])) for r in levels if r[6] == "ask")
            if kind == "snapshot":
                events.append(DepthSnapshot(IID, int(last), bids, asks, 2, 8))
            else:
                events.append(DepthDiff(IID, 0, int(first), int(last), None, bids, asks, 2, 8))
    return events


@pytest.fixture(scope="module")
def capture() -> Capture:
    with gzip.open(QUOTES_CSV, "rt", newline="") as handle:
        tops = {int(r["update_id"]): (_price(r["bid"]), _size(r["bid_qty"]),
                                      _price(r["ask"]), _size(r["ask_qty"]))
                for r in csv.DictReader(handle)}
    return Capture(_read_events(), tops)


def _top(book: LocalOrderBook) -> tuple[int, int, int, int]:
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None and ask is not None
    return (*bid, *ask)


def test_rebuilt_book_matches_every_recorded_book_ticker(capture: Capture) -> None:
    # Arrange
    book = LocalOrderBook(BTCUSDT)
    statuses: list[BookStatus] = []
    checked = 0
    # Act: feed the capture in the order it was received.
    for event in capture.events:
        if isinstance(event, DepthSnapshot):
            statuses.append(book.on_snapshot(event))
            continue
        statuses.append(book.on_diff(event))
        top = capture.tops.get(event.final_update_id)
        if top is not None and book.synced:
            # Assert: price and size of the best bid and ask, at every shared update id.
            assert _top(book) == top, f"book differs at u={event.final_update_id}"
            checked += 1
    assert checked > 1_000
    # Diffs before the snapshot were buffered, the snapshot bridged them, nothing broke after.
    snapshot_at = next(i for i, e in enumerate(capture.events) if isinstance(e, DepthSnapshot))
    assert set(statuses[:snapshot_at]) == {BookStatus.BUFFERED}
    assert set(statuses[snapshot_at:]) == {BookStatus.APPLIED}
    assert book.last_update_id == capture.events[-1].final_update_id  # type: ignore[union-attr]


def test_the_csv_snapshot_is_the_recorded_rest_response(capture: Capture) -> None:
    snapshot = next(e for e in capture.events if isinstance(e, DepthSnapshot))
    assert decode_depth_snapshot(REST_SNAPSHOT.read_bytes(), BTCUSDT) == snapshot


def test_a_missing_diff_forces_a_resync_and_a_new_snapshot_recovers(capture: Capture) -> None:
    # Arrange: a reference book sees every diff; the book under test loses diff number 3000.
    reference, book = LocalOrderBook(BTCUSDT), LocalOrderBook(BTCUSDT)
    diffs_seen, recovered_checks = 0, 0
    outcomes: list[BookStatus] = []
    for event in capture.events:
        if isinstance(event, DepthSnapshot):
            reference.on_snapshot(event)
            book.on_snapshot(event)
            continue
        reference.on_diff(event)
        diffs_seen += 1
        if diffs_seen == 3_000:
            continue  # lost
        # Act
        outcomes.append(status := book.on_diff(event))
        if diffs_seen == 3_001:
            # Assert: the chain broke; the book refuses to answer and buffers for a snapshot.
            assert status is BookStatus.RESYNC
            assert not book.synced and book.best_bid() is None and book.buffered == 1
        if diffs_seen == 3_008:
            late_snapshot = reference.snapshot()  # what REST would answer a little later
        if diffs_seen == 3_010:
            # The snapshot reaches u of diff 3008: it bridges the buffered 3001..3010.
            assert book.on_snapshot(late_snapshot) is BookStatus.APPLIED
        if book.synced and diffs_seen > 3_010:
            assert _top(book) == _top(reference)
            recovered_checks += 1
    assert outcomes.count(BookStatus.RESYNC) == 1
    assert recovered_checks > 3_000
    assert book.snapshot() == reference.snapshot()


def test_a_snapshot_older_than_the_buffer_is_refused(capture: Capture) -> None:
    diffs = list(capture.diffs())
    book = LocalOrderBook(BTCUSDT)
    for diff in diffs[100:110]:
        assert book.on_diff(diff) is BookStatus.BUFFERED
    old = next(e for e in capture.events if isinstance(e, DepthSnapshot))
    assert book.on_snapshot(old) is BookStatus.RESYNC
    assert not book.synced and book.buffered == 10


def test_stale_and_duplicate_diffs_are_dropped(capture: Capture) -> None:
    snapshot = next(e for e in capture.events if isinstance(e, DepthSnapshot))
    diffs = list(capture.diffs())
    book = LocalOrderBook(BTCUSDT)
    assert book.on_snapshot(snapshot) is BookStatus.APPLIED
    assert book.on_diff(diffs[0]) is BookStatus.STALE  # u <= lastUpdateId
    live = [d for d in diffs if d.final_update_id > snapshot.last_update_id]
    assert book.on_diff(live[0]) is BookStatus.APPLIED
    assert book.on_diff(live[0]) is BookStatus.STALE   # the same event twice
    assert book.on_diff(live[1]) is BookStatus.APPLIED


def _diff(first: int, last: int, bids: tuple[tuple[int, int], ...] = (),
          asks: tuple[tuple[int, int], ...] = ()) -> DepthDiff:
    return DepthDiff(IID, 0, first, last, None, bids, asks, 2, 8)


def test_zero_size_removes_a_level_and_the_best_moves() -> None:
    book = LocalOrderBook(BTCUSDT)
    book.on_snapshot(DepthSnapshot(IID, 10, ((6_183_763, 5), (6_183_762, 7)),
                                   ((6_183_764, 3), (6_183_765, 4)), 2, 8))
    assert book.on_diff(_diff(11, 11, bids=((6_183_763, 0),), asks=((6_183_764, 0),))) \
        is BookStatus.APPLIED
    assert (book.best_bid(), book.best_ask()) == ((6_183_762, 7), (6_183_765, 4))
    assert book.on_diff(_diff(12, 12, bids=((6_183_700, 0),))) is BookStatus.APPLIED  # unknown
    assert book.bids(5) == [(6_183_762, 7)]


def test_first_event_must_straddle_the_snapshot() -> None:
    book = LocalOrderBook(BTCUSDT)
    book.on_snapshot(DepthSnapshot(IID, 10, ((100, 1),), ((200, 1),), 2, 8))
    assert book.on_diff(_diff(12, 15)) is BookStatus.RESYNC  # update 11 is missing


def test_a_crossed_local_book_is_never_served() -> None:
    book = LocalOrderBook(BTCUSDT)
    book.on_snapshot(DepthSnapshot(IID, 10, ((100, 1),), ((200, 1),), 2, 8))
    assert book.on_diff(_diff(11, 11, bids=((250, 1),))) is BookStatus.RESYNC
    assert book.best_bid() is None
