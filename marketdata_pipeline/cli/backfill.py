"""What `marketdata sync` runs: single-run backfills in the project's instance.

Series that share their partitions and range run together: Dagster's cost is per run as much
as per partition, so 16 series of a month are one run, not 16.
"""

from __future__ import annotations

from collections import defaultdict

import click
from dagster import DagsterEventType, DagsterInstance

from ..automation.keys import run_keys
from ..automation.partitions import partitions_for
from ..automation.runs import series_run
from ..config import LoadedConfig, Series
from ..definitions import build_definitions
from ..ops.instance import project_instance
from ..ops.owners import owner_tags
from .plan import Plan

# Dagster's events go to the instance; the terminal gets one line per failure, not stack traces.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def materialize_range(
    job, instance: DagsterInstance, series: Series | list[Series], first: str, last: str
):
    """One run of the series' candles and indicators over partitions first..last."""
    selection, tags = series_run(series, first, last)
    return job.execute_in_process(
        instance=instance,
        asset_selection=selection,
        tags={**tags, **owner_tags()},  # this process runs it: if it dies, the run is failed
        run_config=QUIET,
        raise_on_error=False,
    )


def sync_series(config: LoadedConfig, plans: list[Plan]) -> list[str]:
    """Run the plans, grouped by partitions and range; returns the failures."""
    instance = project_instance(config)
    job = build_definitions(config).resolve_implicit_global_asset_job_def()
    groups: dict[tuple, list[Series]] = defaultdict(list)
    for plan in plans:
        groups[(partitions_for(plan.series), plan.first, plan.last)].append(plan.series)
    failures: list[str] = []
    label = lambda item: item and ", ".join(s.name for s in item[1])  # noqa: E731
    with click.progressbar(list(groups.items()), label="sync", item_show_func=label) as bar:
        for (_, first, last), group in bar:
            result = materialize_range(job, instance, group, first, last)
            failures += [
                f"{name} {first}..{last}: {why}" for name, why in failed_series(result, group)
            ]
    return failures


def failed_series(result, group: list[Series]) -> list[tuple[str, str]]:
    """(series, one-line cause) for each series of the run with a failed step."""
    names = {"__".join(key.path): series.name for series in group for key in run_keys(series)}
    failed: dict[str, str] = {}
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            failed.setdefault(names.get(event.step_key, event.step_key), _cause(event))
    if not failed and not result.success:
        failed["run"] = f"run {result.run_id} failed"
    return list(failed.items())


def _cause(event) -> str:
    """The user-facing description of a failed step, else its root exception in one line."""
    error = event.step_failure_data.user_failure_data
    if error and error.description:
        return error.description
    error = event.step_failure_data.error
    while error.cause is not None:  # Dagster wraps the step's own exception
        error = error.cause
    return error.message.strip().splitlines()[-1]
