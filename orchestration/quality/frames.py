"""Read what the suites validate from PostgreSQL into pandas frames (numbers as floats).

Prices are exact ``numeric`` in the database; the suites compare and take logs, for which a
double is plenty, and ``numeric`` NaN or infinity (which only a corrupted table can hold) come
through as float NaN and inf, which the suites report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import pandas as pd  # type: ignore[import-untyped]

from orchestration.quality.candles import CANDLE_COLUMNS
from orchestration.sql import quoted


async def read_bars(conn: asyncpg.Connection, relation: str,
                    window: tuple[datetime, datetime] | None) -> pd.DataFrame:
    """Return the bars of ``relation`` (a quoted table or view) opening in ``window``."""
    query = ("select instrument_id, timeframe, open_at, open::float8, high::float8,"
             f" low::float8, close::float8, volume::float8 from {relation}")
    args: list[object] = []
    if window is not None:
        query += " where open_at >= $1 and open_at < $2"
        args = [window[0], window[1]]
    rows = await conn.fetch(query, *args)
    return pd.DataFrame([tuple(row) for row in rows], columns=list(CANDLE_COLUMNS))


async def read_feature(conn: asyncpg.Connection, relation: str, keys: Sequence[str],
                       available_at: str, columns: Sequence[str],
                       window: tuple[datetime, datetime] | None) -> pd.DataFrame:
    """Return a feature table's keys, availability time and values (with ``bar_index``).

    ``bar_index`` numbers each bar within its series (instrument, timeframe) from the series'
    first stored bar, counted before the window is applied, so warm-up rows are known as such.
    """
    names = [*keys, available_at]
    selected = [quoted(name) for name in names] + [f"{quoted(c)}::float8 as {quoted(c)}"
                                                    for c in columns]
    series = "instrument_id" in keys and "timeframe" in keys and "open_at" in keys
    if series:
        selected.append("row_number() over (partition by instrument_id, timeframe"
                        " order by open_at) - 1 as bar_index")
    query = f"select {', '.join(selected)} from {relation}"
    args: list[object] = []
    if window is not None and series:
        query = f"select * from ({query}) as numbered where open_at >= $1 and open_at < $2"
        args = [window[0], window[1]]
    rows = await conn.fetch(query, *args)
    frame_columns = [*names, *columns, *(["bar_index"] if series else [])]
    return pd.DataFrame([tuple(row) for row in rows], columns=frame_columns)
