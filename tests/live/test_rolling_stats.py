"""Rolling 24-hour statistics: the window slides by minute buckets."""

from __future__ import annotations

from domain.instruments import InstrumentId
from domain.market import AggressorSide, Trade
from live.rolling_stats import BUCKET_NS, RollingStats

BTC = InstrumentId.parse("BINANCE:BTC/USDT")
HOUR = 60 * BUCKET_NS


def trade(ts: int, price: int, size: int = 10, trade_id: int = 1) -> Trade:
    return Trade(BTC, ts, price, size, AggressorSide.BUY, str(trade_id), 2, 3)


def test_trades_older_than_24_hours_leave_the_window() -> None:
    stats = RollingStats(2, 3)

    stats.add(trade(0, 10_000, trade_id=1))
    stats.add(trade(2 * HOUR, 12_000, trade_id=2))
    stats.add(trade(25 * HOUR, 11_000, trade_id=3))  # the first trade is now 25 h old

    snapshot = stats.snapshot()
    assert snapshot["open"] == "120.00"
    assert (snapshot["high"], snapshot["low"], snapshot["last"]) == ("120.00", "110.00", "110.00")
    assert snapshot["count"] == 2
    assert snapshot["volume"] == "0.020"
    assert len(stats.buckets) == 2


def test_trades_of_one_minute_share_a_bucket() -> None:
    stats = RollingStats(2, 3)

    for i in range(5):
        stats.add(trade(i * 1_000_000_000, 10_000 + i, trade_id=i))

    assert len(stats.buckets) == 1
    # 0.010 BTC at 100.00 .. 100.04: 5.00100 USDT, exactly
    assert stats.snapshot()["quote_volume"] == "5.00100"
