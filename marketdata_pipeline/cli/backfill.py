"""What `marketdata sync` runs: one single-run backfill per series, in the project's instance."""

from __future__ import annotations

import click
from dagster import DagsterEventType, DagsterInstance

from ..automation.partitions import partitions_for
from ..automation.runs import series_run
from ..config import LoadedConfig, Series
from ..definitions import build_definitions
from ..ops.instance import project_instance
from ..ops.owners import owner_tags
from ..timeframes import from_ms

# Dagster's events go to the instance; the terminal gets one line per failure, not stack traces.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def partition_range(series: Series, start_ms: int, end_ms: int) -> tuple[str, str] | None:
    """First and last partition keys whose windows overlap [start, end), or None if none do."""
    definition = partitions_for(series)
    keys = definition.get_partition_keys()
    first = definition.get_partition_key_for_timestamp(max(start_ms, series.start_ms) / 1000)
    last_ms = end_ms - 1
    if last_ms < series.start_ms or first not in keys:
        return None
    last = definition.get_partition_key_for_timestamp(last_ms / 1000)
    return first, last if last in keys else keys[-1]


def materialize_range(job, instance: DagsterInstance, series: Series, first: str, last: str):
    """One run of the series' candles and indicators over partitions first..last."""
    selection, tags = series_run(series, first, last)
    return job.execute_in_process(
        instance=instance,
        asset_selection=selection,
        tags={**tags, **owner_tags()},  # this process runs it: if it dies, the run is failed
        run_config=QUIET,
        raise_on_error=False,
    )


def sync_series(
    config: LoadedConfig, chosen: list[Series], start_ms: int, end_ms: int
) -> list[str]:
    """Materialize each series over the partitions overlapping [start, end); returns failures."""
    instance = project_instance(config)
    job = build_definitions(config).resolve_implicit_global_asset_job_def()
    failures: list[str] = []
    with click.progressbar(chosen, label="sync", item_show_func=lambda s: s and s.name) as bar:
        for series in bar:
            keys = partition_range(series, start_ms, end_ms)
            if keys is None:
                continue
            result = materialize_range(job, instance, series, *keys)
            if not result.success:
                failures.append(
                    f"{series.name} {from_ms(start_ms):%Y-%m-%d}..: {failure_message(result)}"
                )
    return failures


def failure_message(result) -> str:
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.user_failure_data
            if error and error.description:
                return error.description
            return event.step_failure_data.error.message.strip().splitlines()[-1]
    return f"run {result.run_id} failed"
