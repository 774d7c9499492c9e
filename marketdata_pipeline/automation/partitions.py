"""Time partitions of a series: windows sized per timeframe so one is a handful of requests."""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import AssetExecutionContext, TimeWindowPartitionsDefinition

from ..config import Series
from ..timeframes import PARTITION_CRONS, partition_floor, to_ms

PARTITION_FORMAT = "%Y-%m-%d"


def partitions_for(series: Series) -> TimeWindowPartitionsDefinition:
    """From the window holding the market's start up to and including the in-progress window."""
    start = datetime(series.start.year, series.start.month, series.start.day, tzinfo=UTC)
    return TimeWindowPartitionsDefinition(
        start=partition_floor(series.timeframe.partition, start),
        cron_schedule=PARTITION_CRONS[series.timeframe.partition],
        fmt=PARTITION_FORMAT,
        end_offset=1,
    )


def partition_windows(context: AssetExecutionContext) -> list[tuple[int, int]]:
    """The run's partition windows as [start, end) epoch-ms pairs, oldest first."""
    definition = context.assets_def.partitions_def
    windows = [definition.time_window_for_partition_key(key) for key in context.partition_keys]
    return sorted((to_ms(w.start), to_ms(w.end)) for w in windows)
