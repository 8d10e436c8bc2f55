"""TradeStore: a batch is stored whole or not at all, and a stored trade is never stored twice."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from adapters.storage.connect import app_dsn
from adapters.storage.trades import TradeStore
from domain.instruments import InstrumentId
from domain.market import AggressorSide, Trade

BTC = InstrumentId.parse("BINANCE:BTC/USDT")
ETH = InstrumentId.parse("BINANCE:ETH/USDT")
T0 = 1_723_075_200_000_000_000  # 2024-08-08T00:00:00Z in ns


def trade(n: int, instrument: InstrumentId = BTC, price: int = 6_100_012) -> Trade:
    """A trade with id ``n``, one millisecond after the previous one."""
    return Trade(instrument, T0 + n * 1_000_000, price, 150_000, AggressorSide.BUY, str(n), 2, 8)


async def _rows(dsn: str) -> list[tuple[str, str, Decimal, Decimal]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("select instrument_id, trade_id, price, qty from trades"
                                " order by instrument_id, trade_id::bigint")
        return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        await conn.close()


async def test_a_batch_mixing_stored_and_new_trades_adds_only_the_new_ones(
    migrated_database: str, app_role: str,
) -> None:
    # Arrange
    conn = await asyncpg.connect(app_dsn(migrated_database, app_role))
    store = TradeStore(conn)
    assert await store.copy_trades([trade(n) for n in range(10)]) == 10
    # Act: five already stored, five new, and one new trade twice in the same batch
    batch = [trade(n) for n in range(5, 15)] + [trade(14)]
    new = await store.copy_trades(batch)
    await conn.close()
    # Assert
    assert new == 5
    rows = await _rows(migrated_database)
    assert [r[1] for r in rows] == [str(n) for n in range(15)]
    assert rows[0][2:] == (Decimal("61000.12"), Decimal("0.00150000"))


async def test_a_batch_of_several_instruments_and_huge_values_is_stored_exactly(
    migrated_database: str, app_role: str,
) -> None:
    # Arrange: a raw price beyond int64 travels through the numeric stage
    huge = 10**20 + 7
    batch = [trade(1), trade(2, ETH), trade(3, ETH, price=huge)]
    conn = await asyncpg.connect(app_dsn(migrated_database, app_role))
    store = TradeStore(conn)
    # Act
    first = await store.copy_trades(batch)
    again = await store.copy_trades(batch)
    await conn.close()
    # Assert
    assert (first, again) == (3, 0)
    rows = await _rows(migrated_database)
    assert [(r[0], r[1]) for r in rows] == [
        ("BINANCE:BTC/USDT", "1"), ("BINANCE:ETH/USDT", "2"), ("BINANCE:ETH/USDT", "3")]
    assert rows[2][2] == Decimal(huge).scaleb(-2)


async def test_a_duplicate_in_one_instrument_keeps_the_new_trades_of_another(
    migrated_database: str, app_role: str,
) -> None:
    # Arrange: ETH trade 2 is stored; the next batch has new BTC trades first
    conn = await asyncpg.connect(app_dsn(migrated_database, app_role))
    store = TradeStore(conn)
    assert await store.copy_trades([trade(2, ETH)]) == 1
    # Act: BTC goes in by the plain insert, ETH then hits its duplicate and falls back
    new = await store.copy_trades([trade(1), trade(3), trade(2, ETH), trade(4, ETH)])
    await conn.close()
    # Assert: the savepoint undid only ETH's first attempt
    assert new == 3
    assert [(r[0][-8:], r[1]) for r in await _rows(migrated_database)] == [
        ("BTC/USDT", "1"), ("BTC/USDT", "3"), ("ETH/USDT", "2"), ("ETH/USDT", "4")]
