"""TimescaleDB, where it exists: hypertables with compression and retention policies.

The schema is plain PostgreSQL (``V0001__core.sql``); ``apply_timescale`` runs after the
migrations (a ``post_steps`` entry of ``migrate()``) and turns the time-series tables into
hypertables only when the server offers the extension (ARCHITECTURE.md, decision 3). Every
statement is idempotent because post-steps run on every migration run. The statements use the
``by_range`` form of ``create_hypertable`` (TimescaleDB 2.13 or later).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

log = logging.getLogger(__name__)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_INTERVAL = re.compile(r"^\d+ (hours?|days?|weeks?|months?|years?)$")


@dataclass(frozen=True, slots=True)
class Hypertable:
    """How one time-series table is partitioned, compressed and (optionally) expired."""

    table: str
    time_column: str
    chunk_interval: str
    segment_by: tuple[str, ...]
    compress_after: str
    drop_after: str | None = None

    def __post_init__(self) -> None:
        for name in (self.table, self.time_column, *self.segment_by):
            if not _IDENT.match(name):
                raise ValueError(f"not a plain lower-case identifier: {name!r}")
        for interval in (self.chunk_interval, self.compress_after, self.drop_after):
            if interval is not None and not _INTERVAL.match(interval):
                raise ValueError(f"interval must look like '7 days', got {interval!r}")
        if not self.segment_by:
            raise ValueError(f"{self.table}: compression needs at least one segment-by column")


# Chunks are sized so that a recent chunk of every instrument stays small in memory; chunks
# compress once late corrections are unlikely. Only raw trades expire: dbt rebuilds candles
# from the recent window, exchange candles keep the long history, and trading records, signals
# and equity are kept (orders, fills and audit_log are not hypertables at all).
TIME_SERIES: tuple[Hypertable, ...] = (
    Hypertable("trades", "traded_at", "1 day", ("instrument_id",), "7 days", "180 days"),
    # Rows of several timeframes interleave in time, so they are segmented apart.
    Hypertable("exchange_candles", "open_at", "7 days", ("instrument_id", "timeframe"),
               "30 days"),
    Hypertable("signals", "signalled_at", "7 days", ("instrument_id",), "30 days"),
    Hypertable("equity_snapshots", "snapshot_at", "30 days", ("account_id",), "90 days"),
)


def hypertable_ddl(tables: Sequence[Hypertable] = TIME_SERIES) -> list[str]:
    """Return the statements that make ``tables`` hypertables with their policies, in order."""
    statements = ["create extension if not exists timescaledb"]
    for spec in tables:
        statements.append(
            f"select create_hypertable('{spec.table}', by_range('{spec.time_column}', "
            f"interval '{spec.chunk_interval}'), if_not_exists => true, migrate_data => true, "
            "create_default_indexes => false)")
        # Changing compression settings fails once chunks are compressed, so set them once.
        statements.append(
            "do $$ begin if not exists (select 1 from timescaledb_information.hypertables "
            f"where hypertable_schema = current_schema() and hypertable_name = '{spec.table}' "
            f"and compression_enabled) then alter table {spec.table} set "
            "(timescaledb.compress, "
            f"timescaledb.compress_segmentby = '{', '.join(spec.segment_by)}', "
            f"timescaledb.compress_orderby = '{spec.time_column} desc'); end if; end $$")
        statements.append(
            f"select add_compression_policy('{spec.table}', "
            f"compress_after => interval '{spec.compress_after}', if_not_exists => true)")
        if spec.drop_after is not None:
            statements.append(
                f"select add_retention_policy('{spec.table}', "
                f"drop_after => interval '{spec.drop_after}', if_not_exists => true)")
    return statements


async def timescale_available(conn: asyncpg.Connection) -> bool:
    """Return True when the server can create the ``timescaledb`` extension."""
    found = await conn.fetchval(
        "select 1 from pg_available_extensions where name = 'timescaledb'")
    return found is not None


async def apply_timescale(conn: asyncpg.Connection) -> None:
    """Make the time-series tables hypertables if TimescaleDB is available; else do nothing.

    Run on an admin connection (creating the extension needs one), e.g. as
    ``migrate(dsn, post_steps=(apply_timescale,))``.
    """
    if not await timescale_available(conn):
        log.debug("timescaledb is not available: time-series tables stay plain PostgreSQL tables")
        return
    # Statement by statement, without one enclosing transaction: each is idempotent, so a run
    # that stops half-way is finished by the next, and the extension is usable straight after
    # its own statement.
    for statement in hypertable_ddl():
        await conn.execute(statement)
    log.debug("timescaledb is available: hypertables with compression and retention on %s",
             ", ".join(spec.table for spec in TIME_SERIES))
