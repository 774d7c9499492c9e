"""Time partitions of a series: windows sized per timeframe so one is a handful of requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from dagster import AssetExecutionContext, TimeWindowPartitionsDefinition

from ..config import Series
from ..timeframes import PARTITION_CRONS, PARTITION_FORMAT, partition_floor, to_ms


def partitions_for(series: Series) -> TimeWindowPartitionsDefinition:
    """From the window holding the market's start up to and including the in-progress window."""
    start = datetime(series.start.year, series.start.month, series.start.day, tzinfo=UTC)
    return TimeWindowPartitionsDefinition(
        start=partition_floor(series.partition, start),
        cron_schedule=PARTITION_CRONS[series.partition],
        fmt=PARTITION_FORMAT,
        end_offset=1,
    )


class Window(NamedTuple):
    """One partition of a run: its key and its [start, end) in epoch ms."""

    key: str
    start: int
    end: int


def partition_windows(context: AssetExecutionContext) -> list[Window]:
    """The run's partition windows, oldest first."""
    definition = context.assets_def.partitions_def
    windows = []
    for key in context.partition_keys:
        window = definition.time_window_for_partition_key(key)
        windows.append(Window(key, to_ms(window.start), to_ms(window.end)))
    return sorted(windows, key=lambda w: w.start)
