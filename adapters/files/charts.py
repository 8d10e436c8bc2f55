"""Charts of a backtest: equity against buy-and-hold, with entries and exits on the price."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol


class ChartTrip(Protocol):
    """What the chart needs of a round trip."""

    entry_ts: int
    exit_ts: int | None

    @property
    def entry_price(self) -> Decimal: ...

    @property
    def exit_price(self) -> Decimal | None: ...


def _when(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)


def plot_equity(
    path: Path,
    title: str,
    ts: Sequence[int],
    equity: Sequence[float],
    closes: Sequence[float],
    trips: Sequence[ChartTrip],
) -> None:
    """Write a PNG: price with entries/exits above, equity vs buy-and-hold below."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers
    import matplotlib.pyplot as plt

    times = [_when(t) for t in ts]
    hold = [equity[0] * close / closes[0] for close in closes]
    fig, (price_ax, equity_ax) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True,
                                              height_ratios=(3, 2))
    price_ax.plot(times, closes, color="#555555", linewidth=0.9, label="close")
    # Markers sit at the fill: the bar's open time and the fill price.
    entries = [(_when(t.entry_ts), float(t.entry_price)) for t in trips]
    exits = [(_when(t.exit_ts), float(t.exit_price)) for t in trips
             if t.exit_ts is not None and t.exit_price is not None]
    price_ax.scatter([w for w, _ in entries], [p for _, p in entries], marker="^",
                     color="#1a9850", s=40, zorder=3, label="entry")
    price_ax.scatter([w for w, _ in exits], [p for _, p in exits], marker="v",
                     color="#d73027", s=40, zorder=3, label="exit")
    price_ax.set_title(title)
    price_ax.legend(loc="upper left")
    price_ax.grid(alpha=0.3)
    equity_ax.plot(times, equity, color="#2166ac", linewidth=1.2, label="strategy equity")
    equity_ax.plot(times, hold, color="#999999", linewidth=1.0, linestyle="--",
                   label="buy and hold")
    equity_ax.legend(loc="upper left")
    equity_ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
