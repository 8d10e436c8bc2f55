"""Store a backtest run: the run row, its signals, orders, fills, risk denials and equity.

Everything of one run lands in one transaction; rows are bulk-loaded with COPY. The run's
simulated account is ``backtest:<run_id>``, so its orders and fills never mix with a live
account's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from domain.events import OrderDenied, OrderFilled, SignalRaised
from domain.orders import Order


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one backtest produced, in domain terms."""

    strategy: str
    strategy_version: str
    params: Mapping[str, Any]
    instrument_id: str
    timeframe: str
    metrics: Mapping[str, Any]
    signals: Sequence[SignalRaised]
    orders: Sequence[Order]
    fills: Sequence[OrderFilled]
    denials: Sequence[OrderDenied]
    equity_ts: Sequence[int]
    equity: Sequence[float]
    started_at: datetime
    finished_at: datetime


def account_id(run_id: uuid.UUID) -> str:
    """Return the simulated account of a run."""
    return f"backtest:{run_id}"


def _at(ts_ns: int) -> datetime:
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=nanos // 1000)


async def save_run(conn: asyncpg.Connection, run: RunRecord) -> uuid.UUID:
    """Insert the run and everything it produced; return its id."""
    run_id = uuid.uuid4()
    account = account_id(run_id)
    async with conn.transaction():
        await conn.execute(
            "insert into backtest_runs (run_id, strategy, strategy_version, params,"
            " instrument_id, timeframe, started_at, finished_at, metrics)"
            " values ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9::jsonb)",
            run_id, run.strategy, run.strategy_version, json.dumps(dict(run.params)),
            run.instrument_id, run.timeframe, run.started_at, run.finished_at,
            json.dumps(dict(run.metrics)))
        await conn.copy_records_to_table("signals", columns=(
            "run_id", "strategy_version", "instrument_id", "signalled_at", "kind", "side",
            "values"), records=[(
                run_id, run.strategy_version, str(s.instrument_id), _at(s.ts_event), s.name,
                s.side.value if s.side else None, json.dumps(s.values)) for s in run.signals])
        await conn.copy_records_to_table("orders", columns=(
            "account_id", "client_order_id", "venue_order_id", "strategy_id", "instrument_id",
            "side", "type", "time_in_force", "quantity", "quote_amount", "price",
            "trigger_price", "reduce_only", "parent_id", "status", "filled_qty", "avg_px",
            "created_at", "updated_at"), records=[(
                account, o.client_order_id, o.venue_order_id, o.strategy_id,
                str(o.instrument_id), o.side.value, o.type.value, o.time_in_force.value,
                o.quantity, o.quote_amount, o.price, o.trigger_price, o.reduce_only,
                o.parent_id, o.status.value, o.filled_qty, o.avg_px, _at(o.ts_init),
                _at(o.ts_last)) for o in run.orders])
        await conn.copy_records_to_table("fills", columns=(
            "account_id", "instrument_id", "trade_id", "client_order_id", "venue_order_id",
            "strategy_id", "side", "filled_at", "qty", "price", "fee", "liquidity"), records=[(
                account, str(f.instrument_id), f.trade_id, f.client_order_id,
                f.venue_order_id, f.strategy_id, f.side.value, _at(f.ts_event), f.last_qty,
                f.last_px, f.fee, f.liquidity.value) for f in run.fills])
        await conn.copy_records_to_table("risk_decisions", columns=(
            "decided_at", "account_id", "strategy_id", "instrument_id", "client_order_id",
            "approved", "reason"), records=[(
                _at(d.ts_event), account, d.strategy_id, str(d.instrument_id),
                d.client_order_id, False, d.reason) for d in run.denials])
        await conn.copy_records_to_table("equity_snapshots", columns=(
            "account_id", "snapshot_at", "equity"), records=[(
                account, _at(ts), Decimal(repr(value)))
                for ts, value in zip(run.equity_ts, run.equity, strict=True)])
    return run_id
