"""Save a backtest run to the database (``lockgate backtest --save``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec


def strategy_version(strategy: Any) -> str:
    """Return the version of a strategy: the hash of its code and parameters (one definition,
    ``research.versioning.version_of``, so a backtest and the registry agree)."""
    from research.versioning import version_of

    return version_of(type(strategy), strategy.config)


async def save_run(series: Any, strategy_name: str, strategy: Any, config: Any,
                   result: Any, started_at: datetime) -> str:
    """Store the run (creating the instrument if the bars came from a CSV); return its id."""
    from adapters.storage.candles import CandleStore
    from adapters.storage.runs import RunRecord
    from adapters.storage.runs import save_run as store_run
    from cli.db import _settings, open_app_connection

    step = series.timeframe.nanos
    record = RunRecord(
        strategy=strategy_name,
        strategy_version=strategy_version(strategy),
        params={**msgspec.to_builtins(strategy.config), "fee_bps": str(config.fee_bps),
                "slippage_bps": str(config.slippage_bps),
                "initial_cash": str(config.initial_cash)},
        instrument_id=str(series.instrument_id),
        timeframe=str(series.timeframe),
        metrics=result.metrics.as_dict(),
        signals=result.signals,
        orders=list(result.orders.values()),
        fills=result.fills,
        denials=result.denials,
        equity_ts=[ts + step for ts in result.curve.ts],  # equity is at each bar's close
        equity=result.curve.equity,
        started_at=started_at,
        finished_at=datetime.now(tz=UTC),
    )
    conn = await open_app_connection(_settings())
    try:
        await CandleStore(conn).upsert_instrument(series.instrument_id, series.price_precision,
                                                  series.size_precision)
        return str(await store_run(conn, record))
    finally:
        await conn.close()
