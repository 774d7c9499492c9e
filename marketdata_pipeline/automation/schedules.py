"""Schedules that keep every series' current partition up to date, one per timeframe.

A schedule targets its series' assets, so the UI lists it as their automation. Dagster builds
one job per target, and a job holds one partitions definition: series of one timeframe whose
partitions differ (another start, another window) get a schedule each.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from ..config import LoadedConfig, Series
from ..timeframes import DAY_MS
from .keys import run_keys
from .partitions import partitions_for
from .runs import busy_series, series_request

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
        target=AssetSelection.assets(*(key for s in members for key in run_keys(s))),
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
    books and tickers, plus one per series whose market's config overrides the cron; each
    split by partitions definition (`candles_1m_month_2024_01_01_schedule`) where they differ."""
    running = config.model.automation.running
    by_cron: dict[tuple[str, str], list[Series]] = defaultdict(list)
    for series in [*config.series, *config.trade_series, *config.polled_series]:
        if series.schedule:
            name = f"{series.name.replace('/', '_')}_schedule"
            by_cron[(name, series.schedule)].append(series)
        else:
            by_cron[cadence_of(series)].append(series)
    schedules = []
    for (name, cron), members in by_cron.items():
        by_partitions: dict = defaultdict(list)
        for series in members:
            by_partitions[partitions_for(series)].append(series)
        for group in by_partitions.values():
            own = name if len(by_partitions) == 1 else split_name(name, group[0])
            schedules.append(series_schedule(own, cron, group, running))
    return schedules


def split_name(name: str, series: Series) -> str:
    """`candles_1m_schedule` of the series whose partitions are months from 2024-01-01:
    `candles_1m_month_2024_01_01_schedule`."""
    first = partitions_for(series).get_first_partition_key().replace("-", "_")
    return f"{name.removesuffix('_schedule')}_{series.partition}_{first}_schedule"
