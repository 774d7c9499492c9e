"""Run requests for one series, tagged so that runs of one series never overlap."""

from __future__ import annotations

from dagster import AssetKey, DagsterInstance, RunRequest, RunsFilter
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from ..config import Series
from ..ops.heal import heal_dead_runs
from .keys import SERIES_TAG, run_keys, series_of


def series_run(
    series: Series | list[Series], first: str, last: str
) -> tuple[list[AssetKey], dict[str, str]]:
    """The series' assets (see `run_keys`) over partitions first..last in one run (a single-run backfill):
    the asset selection and the tags of that run. Several series sharing their partitions
    run together, tagged with every name, comma-separated."""
    group = series if isinstance(series, list) else [series]
    tags = {
        SERIES_TAG: ",".join(s.name for s in group),
        ASSET_PARTITION_RANGE_START_TAG: first,
        ASSET_PARTITION_RANGE_END_TAG: last,
    }
    return [key for s in group for key in run_keys(s)], tags


def series_request(series: Series, first: str, last: str, run_key: str) -> RunRequest:
    selection, tags = series_run(series, first, last)
    return RunRequest(run_key=run_key, asset_selection=selection, tags=tags)


def busy_series(instance: DagsterInstance) -> set[str]:
    """Series with a run queued or in progress: a new request would overlap it. A run whose
    process died is failed first, so it never keeps its series waiting."""
    heal_dead_runs(instance)
    records = instance.get_run_records(RunsFilter(statuses=list(NOT_FINISHED_STATUSES)))
    return {name for r in records for name in series_of(r.dagster_run)}
