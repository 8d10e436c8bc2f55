"""New trades -> rebuild the candles and features of the UTC days they fall on.

Trades reach the ``trades`` table from live ingestion and ``lockgate load-trades``, outside
Dagster. The sensor keeps, as its cursor, each day's trade count and newest trade time; a day
whose figures changed (new trades, late trades, a load) gets a run of
``rebuild_candles_and_features`` for its partition. On its first tick (no cursor) it requests
the days that hold trades but whose candles were never built.
"""

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime

import asyncpg
import dagster as dg
from dagster import SensorEvaluationContext

from orchestration.defs.features.layout import model_key
from orchestration.defs.market_data.jobs import rebuild_days_job
from orchestration.defs.market_data.partitions import FIRST_DAY
from orchestration.resources import DatabaseResource

# The mart whose partitions say which days were built.
BUILT_MARKER = model_key("fct_candles")
_DAYS_SQL = ("select to_char((traded_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day,"
             " count(*) as trades, max(traded_at) as newest from trades group by 1")

DayFigures = Mapping[str, tuple[int, str]]


async def trade_days(conn: asyncpg.Connection) -> dict[str, tuple[int, str]]:
    """Return, per UTC day holding trades, the trade count and the newest trade time."""
    rows = await conn.fetch(_DAYS_SQL)
    return {row["day"]: (int(row["trades"]), row["newest"].isoformat()) for row in rows}


def changed_days(previous: DayFigures | None, current: DayFigures,
                 built: set[str]) -> list[str]:
    """Return the days to rebuild: changed since ``previous``, or (first tick) never built."""
    first, last = date.fromisoformat(FIRST_DAY), datetime.now(tz=UTC).date()
    days = [day for day, figures in current.items()
            if (previous is None and day not in built)
            or (previous is not None and tuple(previous.get(day, ())) != tuple(figures))]
    return sorted(day for day in days if first <= date.fromisoformat(day) <= last)


@dg.sensor(job=rebuild_days_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="New or late trades: rebuild the candles and features of their days.")
def new_trades(context: SensorEvaluationContext,
               database: DatabaseResource) -> dg.SensorResult:
    """Compare each day's trade figures with the cursor; request the changed days."""
    current = database.run(trade_days)
    previous = None if context.cursor is None else {
        day: (int(count), str(newest))
        for day, (count, newest) in json.loads(context.cursor).items()}
    built = (set(context.instance.get_materialized_partitions(BUILT_MARKER))
             if previous is None else set())
    requests = [dg.RunRequest(run_key=f"trades:{day}:{current[day][0]}:{current[day][1]}",
                              partition_key=day, tags={"lockgate/trigger": "new_trades"})
                for day in changed_days(previous, current, built)]
    return dg.SensorResult(run_requests=requests,
                           cursor=json.dumps({day: list(v) for day, v in current.items()}))
