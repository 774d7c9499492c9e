"""What `marketdata sync` runs: one single-run backfill per series, in the project's instance."""

from __future__ import annotations

import click
from dagster import DagsterEventType, DagsterInstance

from ..automation.runs import series_run
from ..config import LoadedConfig, Series
from ..definitions import build_definitions
from ..ops.instance import project_instance
from .plan import Plan

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def materialize_range(job, instance: DagsterInstance, series: Series, first: str, last: str):
    """One run of the series' candles and indicators over partitions first..last."""
    selection, tags = series_run(series, first, last)
    return job.execute_in_process(
        instance=instance,
        asset_selection=selection,
        tags=tags,
        run_config=QUIET,
        raise_on_error=False,
    )


def sync_series(config: LoadedConfig, plans: list[Plan]) -> list[str]:
    """Run each plan (one single-run backfill per series); returns the failures."""
    instance = project_instance(config)
    job = build_definitions(config).resolve_implicit_global_asset_job_def()
    failures: list[str] = []
    with click.progressbar(
        plans, label="sync", item_show_func=lambda p: p and p.series.name
    ) as bar:
        for plan in bar:
            result = materialize_range(job, instance, plan.series, plan.first, plan.last)
            if not result.success:
                failures.append(
                    f"{plan.series.name} {plan.first}..{plan.last}: {failure_message(result)}"
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
