"""Write backtest reports: the trades CSV."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

TRADE_COLUMNS = ("entry_ts", "entry_price", "exit_ts", "exit_price", "qty", "pnl", "fees")


class TradeRow(Protocol):
    """What a trades report needs of a round trip."""

    entry_ts: int
    exit_ts: int | None
    entry_qty: Decimal
    fees: Decimal

    @property
    def entry_price(self) -> Decimal: ...

    @property
    def exit_price(self) -> Decimal | None: ...

    def pnl(self, mark: Decimal | None = None) -> Decimal: ...


def iso_utc(ts_ns: int) -> str:
    """Format UTC nanoseconds as ISO-8601 with a ``Z`` (milliseconds only when present)."""
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += f".{nanos:09d}".rstrip("0")
    return text + "Z"


def plain(value: Decimal) -> str:
    """Format a decimal without exponent notation."""
    return format(value.normalize(), "f") if value else "0"


def write_trades_csv(path: Path, trips: Sequence[TradeRow], mark: Decimal | None) -> None:
    """Write one row per round trip; an open trip has empty exit fields and its marked P&L."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TRADE_COLUMNS)
        for trip in trips:
            exit_price = trip.exit_price
            closed = trip.exit_ts is not None
            writer.writerow([
                iso_utc(trip.entry_ts),
                plain(trip.entry_price),
                iso_utc(trip.exit_ts) if closed and trip.exit_ts is not None else "",
                plain(exit_price) if closed and exit_price is not None else "",
                plain(trip.entry_qty),
                plain(trip.pnl(None if closed else mark)),
                plain(trip.fees),
            ])
