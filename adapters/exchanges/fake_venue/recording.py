"""Load one symbol's recorded Binance spot market (trades, bookTicker, depth) as replay events.

The files are the 2024-08-08/09 captures in ``shared/data`` (see its PROVENANCE.md):
``trades/`` (exchange trade time), ``quotes/`` (bookTicker; spot carries no exchange time, so the
capture's receive time is moved onto exchange time by the median ``E - ts_local`` of the depth
diffs, then kept inside the 100 ms window of the diff that carries the same book update id, so the
touch never runs ahead of the book) and ``orderbook/`` (one REST snapshot plus ``@depth@100ms``
diffs). Diffs already covered by
the snapshot are dropped, so the first event continues the snapshot exactly as Binance's local-book
procedure expects. Aggregate trades are derived here (the capture has no ``@aggTrade`` stream):
consecutive trades with the same time, price and taker side form one, as one taker order would.
"""

from __future__ import annotations

import bisect
import gzip
import statistics
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import msgspec

from adapters.exchanges.fake_venue.wire import pad8
from domain.errors import InvalidValue

Level = tuple[str, str]  # (price, qty) as eight-place text; qty "0.00000000" removes the level
ZERO_QTY = "0.00000000"
PERIOD = "20240808-20240809"


class TradeEvent(msgspec.Struct, frozen=True, gc=False):
    """One trade (``<symbol>@trade``); ``buyer_maker`` is Binance's ``m``."""

    ts: int
    symbol: str
    trade_id: int
    price: Decimal
    qty: Decimal
    price_text: str
    qty_text: str
    buyer_maker: bool


class AggTradeEvent(msgspec.Struct, frozen=True, gc=False):
    """Trades of one taker order at one price (``<symbol>@aggTrade``)."""

    ts: int
    symbol: str
    agg_id: int
    price_text: str
    qty_text: str
    first_id: int
    last_id: int
    buyer_maker: bool


class QuoteEvent(msgspec.Struct, frozen=True, gc=False):
    """A best bid/ask change (``<symbol>@bookTicker``)."""

    ts: int
    symbol: str
    update_id: int
    bid: str
    bid_qty: str
    ask: str
    ask_qty: str


class DepthEvent(msgspec.Struct, frozen=True, gc=False):
    """A diff of the order book covering update ids ``first_id..last_id`` (``U``..``u``)."""

    ts: int
    symbol: str
    first_id: int
    last_id: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class BookResetEvent(msgspec.Struct, frozen=True, gc=False):
    """Loop restart: one diff (id ``update_id``) moving the book back to the recorded snapshot."""

    ts: int
    symbol: str
    update_id: int


MarketEvent = TradeEvent | AggTradeEvent | QuoteEvent | DepthEvent | BookResetEvent


class Recording(msgspec.Struct, frozen=True, gc=False):
    """One symbol's replayable market: the snapshot, the events in time order and id spans."""

    symbol: str
    snapshot_id: int
    snapshot_bids: tuple[Level, ...]
    snapshot_asks: tuple[Level, ...]
    events: tuple[MarketEvent, ...]
    first_trade_id: int
    trade_span: int
    agg_span: int
    update_span: int  # ids one loop uses, including the one the loop's reset diff takes


def _day_ms(day: str, cache: dict[str, int]) -> int:
    found = cache.get(day)
    if found is None:
        found = (date.fromisoformat(day) - date(1970, 1, 1)).days * 86_400_000
        cache[day] = found
    return found


def iso_ms(text: str, cache: dict[str, int]) -> int:
    """Parse ``2024-08-08T23:54:15.342Z`` (any fraction) into epoch milliseconds, fast."""
    base = _day_ms(text[:10], cache)
    seconds = (int(text[11:13]) * 60 + int(text[14:16])) * 60 + int(text[17:19])
    frac = text[20:-1] if len(text) > 20 else ""
    return base + seconds * 1000 + int((frac + "000")[:3])


def _lines(path: Path) -> Iterator[list[str]]:
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    # Whole-file reads and splits: several times faster than line-by-line gzip reading.
    for line in text.split("\n")[1:]:  # [0] is the header, checked by the column positions
        if line:
            yield line.split(",")


class _Padded(dict[str, str]):
    """Recorded decimal text -> Binance's eight-place text; prices repeat, so remember them."""

    def __missing__(self, text: str) -> str:
        padded = self[text] = pad8(text)
        return padded


def _load_depth(path: Path, days: dict[str, int]) -> tuple[
        int, tuple[Level, ...], tuple[Level, ...], list[DepthEvent], int]:
    snap_id = -1
    snap_bids: list[Level] = []
    snap_asks: list[Level] = []
    diffs: list[tuple[int, int, int, list[Level], list[Level]]] = []
    offsets: list[int] = []
    key: tuple[str, str] | None = None
    padded = _Padded()
    for ts, ts_local, kind, first, last, _prev, side, price, qty in _lines(path):
        level = (padded[price], padded[qty])
        if kind == "snapshot":
            snap_id = int(last)
            (snap_bids if side == "bid" else snap_asks).append(level)
            continue
        if (first, last) != key:
            key = (first, last)
            event_ms = iso_ms(ts, days)
            offsets.append(event_ms - iso_ms(ts_local, days))
            diffs.append((event_ms, int(first), int(last), [], []))
        diffs[-1][3 if side == "bid" else 4].append(level)  # type: ignore[union-attr]
    if snap_id < 0:
        raise InvalidValue(f"{path}: no depth snapshot rows")
    kept = [d for d in diffs if d[2] > snap_id]
    if not kept or not kept[0][1] <= snap_id + 1 <= kept[0][2]:
        raise InvalidValue(f"{path}: the first diff after the snapshot does not straddle it")
    events = []
    previous = snap_id
    for ts_ms, recorded_first, last_id, bids, asks in kept:
        # The first diff may reach back into the snapshot; its levels are absolute, so starting
        # it at snapshot + 1 keeps the U = previous u + 1 chain exact and loses nothing.
        first_id = max(recorded_first, snap_id + 1)
        if first_id != previous + 1:
            raise InvalidValue(f"{path}: depth ids break between {previous} and {first_id}")
        events.append(DepthEvent(ts_ms, "", first_id, last_id, tuple(bids), tuple(asks)))
        previous = last_id
    return snap_id, tuple(snap_bids), tuple(snap_asks), events, int(statistics.median(offsets))


def _trades(path: Path, symbol: str, days: dict[str, int]) -> tuple[list[MarketEvent], int, int]:
    out: list[MarketEvent] = []
    group: list[TradeEvent] = []
    agg_id = 0

    def close_group() -> None:
        nonlocal agg_id
        if not group:
            return
        agg_id += 1
        total = sum((t.qty for t in group), Decimal(0))
        head = group[0]
        out.append(AggTradeEvent(head.ts, symbol, agg_id, head.price_text, f"{total:.8f}",
                                 head.trade_id, group[-1].trade_id, head.buyer_maker))
        group.clear()

    first_id = last_id = -1
    for ts, price, qty, side, trade_id in _lines(path):
        trade = TradeEvent(iso_ms(ts, days), symbol, int(trade_id), Decimal(price), Decimal(qty),
                           pad8(price), pad8(qty), side == "sell")
        if first_id < 0:
            first_id = trade.trade_id
        elif trade.trade_id != last_id + 1:
            raise InvalidValue(f"{path}: trade ids jump from {last_id} to {trade.trade_id}")
        last_id = trade.trade_id
        if group and (group[0].ts, group[0].price, group[0].buyer_maker) != (
                trade.ts, trade.price, trade.buyer_maker):
            close_group()
        out.append(trade)
        group.append(trade)
    close_group()
    return out, first_id, agg_id


def data_files(data_dir: Path, base: str, quote: str) -> dict[str, Path]:
    """Return the trades, quotes and depth files recorded for one symbol."""
    pair = f"binance_{base}-{quote}"
    return {
        "trades": data_dir / "trades" / f"{pair}_trades_{PERIOD}.csv",
        "quotes": data_dir / "quotes" / f"{pair}_quotes_{PERIOD}.csv.gz",
        "depth": data_dir / "orderbook" / f"{pair}_depth_{PERIOD}.csv.gz",
    }


@lru_cache(maxsize=8)
def load_recording(data_dir: Path, symbol: str, base: str, quote: str) -> Recording:
    """Read and check one symbol's recording; cached because tests start many venues."""
    files = data_files(data_dir, base, quote)
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"recorded market data missing: {missing}")
    days: dict[str, int] = {}
    snap_id, snap_bids, snap_asks, diffs, offset = _load_depth(files["depth"], days)
    events: list[MarketEvent] = [msgspec.structs.replace(d, symbol=symbol) for d in diffs]
    last_ids = [d.last_id for d in diffs]
    padded = _Padded()
    for _ts, ts_local, update_id, bid, bid_qty, ask, ask_qty in _lines(files["quotes"]):
        if int(update_id) > snap_id:
            ts = iso_ms(ts_local, days) + offset
            k = bisect.bisect_left(last_ids, int(update_id))  # the diff carrying this update
            if k < len(diffs):
                ts = min(max(ts, diffs[k - 1].ts + 1 if k else ts), diffs[k].ts)
            events.append(QuoteEvent(ts, symbol, int(update_id), padded[bid],
                                     padded[bid_qty], padded[ask], padded[ask_qty]))
    trades, first_trade_id, aggs = _trades(files["trades"], symbol, days)
    events.extend(trades)
    events.sort(key=lambda e: e.ts)  # stable: an aggTrade stays behind the trades it sums
    last_trade = max(e.trade_id for e in trades if isinstance(e, TradeEvent))
    return Recording(
        symbol=symbol, snapshot_id=snap_id, snapshot_bids=snap_bids, snapshot_asks=snap_asks,
        events=tuple(events), first_trade_id=first_trade_id,
        trade_span=last_trade - first_trade_id + 1, agg_span=aggs,
        update_span=diffs[-1].last_id - snap_id + 1,
    )
