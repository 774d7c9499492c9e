"""Schedules that keep every series' current partition up to date, one per timeframe."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from dagster import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from ..config import LoadedConfig, Series
from ..timeframes import DAY_MS
from .partitions import partitions_for
from .runs import ASSET_JOB, busy_series, series_request

# Just after a candle closes; a minute or two later for long candles, whose close is less urgent.
CADENCE = {
    "1m": "* * * * *",
    "5m": "*/5 * * * *",
    "15m": "*/15 * * * *",
    "30m": "*/30 * * * *",
    "1h": "1 * * * *",
    "4h": "1 */4 * * *",
    "1d": "2 0 * * *",
    "1w": "2 0 * * 1",
}


def current_partition(series: Series, when) -> str:
    return partitions_for(series).get_partition_key_for_timestamp(when.timestamp())


def series_schedule(
    name: str, cron: str, members: list[Series], running: bool
) -> ScheduleDefinition:
    """Materialize the partition holding the tick of every member not already being run."""

    @schedule(
        name=name,
        cron_schedule=cron,
        job_name=ASSET_JOB,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING if running else DefaultScheduleStatus.STOPPED,
        description=f"Keeps {', '.join(s.name for s in members)} current.",
    )
    def _schedule(context: ScheduleEvaluationContext):
        busy = busy_series(context.instance)
        tick = context.scheduled_execution_time
        requests = []
        for series in members:
            if series.name in busy:
                context.log.info(f"{series.name}: previous run still going, skipped")
                continue
            # From the partition of the candle that just closed: at a boundary it is the last
            # candle of the previous partition, which the previous tick could not fetch yet.
            # Collected books and tickers: the whole day that just ended.
            back = DAY_MS if series.every_seconds else series.timeframe.ms
            first = current_partition(series, tick - timedelta(milliseconds=back))
            last = current_partition(series, tick)
            requests.append(
                series_request(series, first, last, f"{series.name} {tick.isoformat()}")
            )
        return requests or SkipReason("every series of this schedule is still running")

    return _schedule


def cadence_of(series: Series) -> tuple[str, str]:
    """The shared schedule of a series: its name and cron."""
    if series.every_seconds:  # collected continuously: compacted and checked once a day
        return "snapshots_daily_schedule", "5 0 * * *"
    if series.data == "trades":
        return "trades_schedule", CADENCE["1m"]
    return f"candles_{series.timeframe.name}_schedule", CADENCE[series.timeframe.name]


def build_schedules(config: LoadedConfig) -> list[ScheduleDefinition]:
    """One schedule per timeframe, one for trades (every minute), one a day for collected
    books and tickers, plus one per series whose market's config overrides the cron."""
    running = config.model.automation.running
    by_cron: dict[tuple[str, str], list[Series]] = defaultdict(list)
    for series in [*config.series, *config.trade_series, *config.polled_series]:
        if series.schedule:
            name = f"{series.name.replace('/', '_')}_schedule"
            by_cron[(name, series.schedule)].append(series)
        else:
            by_cron[cadence_of(series)].append(series)
    return [series_schedule(n, cron, members, running) for (n, cron), members in by_cron.items()]
