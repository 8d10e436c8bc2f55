"""Raw market data assets: trades and the venue's candles, loaded into PostgreSQL by UTC day.

The tables belong to the migrations; these assets only append to them (idempotently: a day
loaded twice adds nothing). Live trades also reach ``trades`` through ``lockgate ingest``; the
sensor in `orchestration.defs.market_data.sensors` notices those.
"""

from dataclasses import dataclass, field
from typing import Any

import asyncpg
import dagster as dg
from dagster import AssetExecutionContext

from adapters.storage.candles import CandleStore
from adapters.storage.trades import TradeStore
from orchestration.defs.market_data.partitions import SINGLE_RUN, daily_partitions, partition_window
from orchestration.defs.market_data.resources import MarketDataSource
from orchestration.resources import DatabaseResource

RAW_TRADES = dg.AssetKey(["raw", "trades"])
RAW_EXCHANGE_CANDLES = dg.AssetKey(["raw", "exchange_candles"])
GROUP = "market_data"
_NS_PER_S = 1_000_000_000


@dataclass
class _Loaded:
    rows: int = 0
    new: int = 0
    series: set[str] = field(default_factory=set)

    def metadata(self) -> dict[str, Any]:
        return {"rows_read": self.rows, "rows_new": self.new,
                "series": ", ".join(sorted(self.series)) or "none"}


@dg.asset(key=RAW_TRADES, group_name=GROUP, partitions_def=daily_partitions,
          backfill_policy=SINGLE_RUN, kinds={"postgres"},
          description="Exchange trades (table `trades`), loaded from the market data source "
                      "for the run's UTC days.")
def raw_trades(context: AssetExecutionContext, database: DatabaseResource,
               market_data: MarketDataSource) -> dg.MaterializeResult[None]:
    """Load the trades of the run's days."""
    start_ns, end_ns = _window_ns(context)

    async def load(conn: asyncpg.Connection) -> _Loaded:
        store, loaded = TradeStore(conn), _Loaded()
        async for batch in market_data.trade_batches(start_ns, end_ns):
            loaded.rows += len(batch)
            loaded.new += await store.copy_trades(batch)
            loaded.series.update(str(trade.instrument_id) for trade in batch[:1])
        return loaded

    loaded = database.run(load)
    context.log.info(f"trades: {loaded.rows} read, {loaded.new} new")
    return dg.MaterializeResult(metadata=loaded.metadata())


@dg.asset(key=RAW_EXCHANGE_CANDLES, group_name=GROUP, partitions_def=daily_partitions,
          backfill_policy=SINGLE_RUN, kinds={"postgres"},
          description="The venue's own candles (table `exchange_candles`), loaded from the "
                      "market data source for the run's UTC days.")
def raw_exchange_candles(context: AssetExecutionContext, database: DatabaseResource,
                         market_data: MarketDataSource) -> dg.MaterializeResult[None]:
    """Load the venue bars opening on the run's days."""
    start_ns, end_ns = _window_ns(context)

    async def load(conn: asyncpg.Connection) -> _Loaded:
        store, loaded = CandleStore(conn), _Loaded()
        async for series in market_data.candle_batches(start_ns, end_ns):
            loaded.rows += len(series)
            loaded.new += await store.copy_candles(series)
            loaded.series.add(f"{series.instrument_id} {series.timeframe}")
        return loaded

    loaded = database.run(load)
    context.log.info(f"exchange candles: {loaded.rows} read, {loaded.new} new")
    return dg.MaterializeResult(metadata=loaded.metadata())


def _window_ns(context: AssetExecutionContext) -> tuple[int, int]:
    window = partition_window(context)
    if window is None:
        raise dg.Failure("raw market data loads one or more UTC days: give a partition")
    start, end = window
    return int(start.timestamp()) * _NS_PER_S, int(end.timestamp()) * _NS_PER_S
