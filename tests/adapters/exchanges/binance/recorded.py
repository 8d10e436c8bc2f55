"""Recorded Binance data for the feed tests: CSV rows back into wire frames, and a backfiller.

The trades CSV (hftbacktest capture, see shared/data/PROVENANCE.md) kept ``T`` (as ``ts``),
``t``, ``p``, ``q`` and ``m`` (as ``side``) of each ``btcusdt@trade`` message; the frames built
here put them back in Binance's combined-stream JSON. The capture's event time ``E`` was not
kept, so ``E = T`` (Binance's ``E`` is at most a few ms later). The candle CSV becomes
``btcusdt@kline_1m`` frames: one update while the candle is open, then the closing one.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import msgspec

from adapters.exchanges.binance.parse import to_fixed
from domain.instruments import Instrument, InstrumentId, InstrumentKind
from domain.market import AggressorSide, Bar, Trade
from domain.timeframes import Timeframe

DATA = Path(__file__).resolve().parents[5] / "shared" / "data"
TRADES_CSV = DATA / "trades" / "binance_BTC-USDT_trades_20240808-20240809.csv"
CANDLES_1M_CSV = DATA / "candles" / "binance_BTC-USDT_1m.csv"
# BTCUSDT: tick 0.01 (PRICE_FILTER); sizes at the base asset's 8 places (book sizes use them).
BTCUSDT = Instrument(InstrumentId("BINANCE", "BTC", "USDT"), InstrumentKind.SPOT, 2, 8)
ONE_MINUTE = Timeframe.parse("1m")


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One recorded trade as the CSV holds it."""

    ts_ms: int
    price: str
    qty: str
    side: str
    trade_id: int


@dataclass(frozen=True, slots=True)
class CandleRow:
    """One recorded 1m candle as the CSV holds it."""

    open_ms: int
    open: str
    high: str
    low: str
    close: str
    volume: str


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def read_trades(path: Path = TRADES_CSV) -> list[TradeRow]:
    """Read the recorded trades in capture order."""
    with path.open(newline="") as handle:
        return [TradeRow(_ms(r["ts"]), r["price"], r["qty"], r["side"], int(r["trade_id"]))
                for r in csv.DictReader(handle)]


def read_candles(path: Path = CANDLES_1M_CSV) -> list[CandleRow]:
    """Read the recorded 1m candles."""
    with path.open(newline="") as handle:
        return [CandleRow(_ms(r["ts"]), r["open"], r["high"], r["low"], r["close"], r["volume"])
                for r in csv.DictReader(handle)]


def _wire(text: str) -> str:
    return f"{Decimal(text):.8f}"  # Binance pads prices and sizes to eight places


def trade_payload(row: TradeRow) -> dict[str, object]:
    """Return the ``trade`` payload of a recorded row, keys in Binance's order."""
    return {"e": "trade", "E": row.ts_ms, "s": "BTCUSDT", "t": row.trade_id,
            "p": _wire(row.price), "q": _wire(row.qty), "T": row.ts_ms,
            "m": row.side == "sell", "M": True}


def envelope(stream: str, payload: dict[str, object]) -> bytes:
    """Wrap a payload the way combined streams do."""
    return msgspec.json.encode({"stream": stream, "data": payload})


def trade_frames(rows: Sequence[TradeRow]) -> list[bytes]:
    """Return ``btcusdt@trade`` combined-stream frames for recorded trades."""
    return [envelope("btcusdt@trade", trade_payload(row)) for row in rows]


def kline_frames(rows: Sequence[CandleRow]) -> list[bytes]:
    """Return ``btcusdt@kline_1m`` frames: an open-candle update, then the closed candle."""
    frames = []
    for row in rows:
        for closed in (False, True):
            kline = {"t": row.open_ms, "T": row.open_ms + 59_999, "s": "BTCUSDT", "i": "1m",
                     "f": 0, "L": 0, "o": _wire(row.open), "c": _wire(row.close),
                     "h": _wire(row.high), "l": _wire(row.low), "v": _wire(row.volume),
                     "n": 0, "x": closed, "q": "0", "V": "0", "Q": "0", "B": "0"}
            event_ms = row.open_ms + (59_999 if closed else 30_000)
            frames.append(envelope("btcusdt@kline_1m",
                                   {"e": "kline", "E": event_ms, "s": "BTCUSDT", "k": kline}))
    return frames


def to_trade(row: TradeRow, instrument: Instrument = BTCUSDT) -> Trade:
    """Return the domain trade of a recorded row (as REST history would deliver it)."""
    pp, sp = instrument.price_precision, instrument.size_precision
    side = AggressorSide.SELL if row.side == "sell" else AggressorSide.BUY
    return Trade(instrument.id, row.ts_ms * 1_000_000, to_fixed(row.price, pp),
                 to_fixed(row.qty, sp), side, str(row.trade_id), pp, sp)


def to_bar(row: CandleRow, instrument: Instrument = BTCUSDT) -> Bar:
    """Return the domain bar of a recorded 1m candle."""
    pp, sp = instrument.price_precision, instrument.size_precision
    open_ns = row.open_ms * 1_000_000
    return Bar.checked(instrument.id, open_ns, open_ns + ONE_MINUTE.nanos,
                       to_fixed(row.open, pp), to_fixed(row.high, pp), to_fixed(row.low, pp),
                       to_fixed(row.close, pp), to_fixed(row.volume, sp), pp, sp)


@dataclass
class RecordedBackfiller:
    """A ``Backfiller`` answering from the recorded CSVs, as Binance's REST history would.

    ``calls`` records every request so tests can check what the feed asked for.
    """

    trades: dict[int, Trade] = field(default_factory=dict)
    bars: dict[int, Bar] = field(default_factory=dict)
    calls: list[tuple[str, int, int]] = field(default_factory=list)

    @classmethod
    def from_csv(cls, trades: Sequence[TradeRow] = (),
                 candles: Sequence[CandleRow] = ()) -> RecordedBackfiller:
        """Index recorded trades by id and candles by open time (ns)."""
        return cls({row.trade_id: to_trade(row) for row in trades},
                   {bar.ts_open: bar for bar in map(to_bar, candles)})

    async def trades_between(
        self, instrument: Instrument, from_id: int, to_id: int
    ) -> Sequence[Trade]:
        """Return recorded trades with ids in ``from_id..to_id``."""
        self.calls.append(("trades", from_id, to_id))
        return [self.trades[i] for i in range(from_id, to_id + 1) if i in self.trades]

    async def agg_trades_between(
        self, instrument: Instrument, from_id: int, to_id: int
    ) -> Sequence[Trade]:
        """Return nothing: no aggregate trades were recorded."""
        self.calls.append(("aggTrades", from_id, to_id))
        return []

    async def klines_between(
        self, instrument: Instrument, interval: Timeframe, from_open_ns: int, to_open_ns: int
    ) -> Sequence[Bar]:
        """Return recorded bars opening in ``from_open_ns..to_open_ns``."""
        self.calls.append(("klines", from_open_ns, to_open_ns))
        return [bar for ts, bar in sorted(self.bars.items()) if from_open_ns <= ts <= to_open_ns]
