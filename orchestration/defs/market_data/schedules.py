"""The daily schedule: once a UTC day is over, load its venue candles and rebuild it."""

from datetime import timedelta

import dagster as dg
from dagster import ScheduleEvaluationContext

from orchestration.defs.market_data.jobs import daily_job
from orchestration.defs.market_data.partitions import day_key


@dg.schedule(job=daily_job, cron_schedule="15 0 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="At 00:15 UTC: the day that just ended (late trades included).")
def daily_market_data(context: ScheduleEvaluationContext) -> dg.RunRequest:
    """Request the partition of the day before the tick."""
    day = day_key(context.scheduled_execution_time - timedelta(days=1))
    return dg.RunRequest(run_key=f"daily:{day}", partition_key=day)
