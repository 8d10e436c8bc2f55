"""The hourly schedule that keeps vendor data (and the slow features built on it) fresh."""

import dagster as dg
from dagster import ScheduleEvaluationContext

from orchestration.defs.features.layout import VENDORS

# The raw vendor assets and the dbt models that read only them share the group "vendors".
vendors_job = dg.define_asset_job(
    "refresh_vendor_data", selection=dg.AssetSelection.groups(VENDORS),
    description="Fetch vendor prices, news and metrics; rebuild the vendor features.")


@dg.schedule(job=vendors_job, cron_schedule="5 * * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Hourly: slow features stay fresh for live trading (decision 2).")
def hourly_vendor_data(context: ScheduleEvaluationContext) -> dg.RunRequest:
    """Request one refresh per hour."""
    return dg.RunRequest(run_key=f"vendors:{context.scheduled_execution_time:%Y-%m-%dT%H}")
