"""Why a series is stale, read from its runs: one queued or in progress (and stuck waiting for a
pool slot?), the last one failed (on an exchange gap?), or no run came since the last one."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunRecord, RunsFilter
from dagster._core.storage.dagster_run import FINISHED_STATUSES, NOT_FINISHED_STATUSES

from ..automation.freshness import Lag
from ..automation.keys import SERIES_TAG, series_of
from ..config import Series
from ..exchange.errors import EMPTY_PAGE
from ..timeframes import from_ms
from .owners import liveness


@dataclass(frozen=True)
class SeriesRuns:
    """The runs of one series that explain its state."""

    active: list[RunRecord]  # queued or in progress, oldest first
    last: RunRecord | None  # the newest finished one
    waiting_for: dict[str, str]  # run id -> the pool it waits for a slot of


# How many finished runs `status` reads at once to find each series' last ones.
RECENT_RUNS = 500


class RunIndex:
    """Every unfinished run by series, and which of them wait for a pool slot: read once."""

    def __init__(self, instance: DagsterInstance, pools: list[str]):
        self.instance = instance
        self.active: dict[str, list[RunRecord]] = {}
        for record in instance.get_run_records(RunsFilter(statuses=NOT_FINISHED_STATUSES)):
            for name in series_of(record.dagster_run):
                self.active.setdefault(name, []).insert(0, record)
        self.recent: dict[str, list[RunRecord]] = {}  # newest first
        for record in instance.get_run_records(
            RunsFilter(statuses=FINISHED_STATUSES), limit=RECENT_RUNS
        ):
            for name in series_of(record.dagster_run):
                self.recent.setdefault(name, []).append(record)
        self.waiting_for = {
            step.run_id: pool
            for pool, info in instance.event_log_storage.get_concurrency_infos(pools).items()
            for step in info.pending_steps
            if step.assigned_timestamp is None
        }

    def last(self, series: Series, statuses) -> RunRecord | None:
        """The newest finished run of the series with one of `statuses`, alone or grouped."""
        for record in self.recent.get(series.name, []):
            if record.dagster_run.status in statuses:
                return record
        filters = RunsFilter(tags={SERIES_TAG: series.name}, statuses=statuses)
        records = self.instance.get_run_records(filters, limit=1)  # older than the recent runs
        return records[0] if records else None

    def of(self, series: Series) -> SeriesRuns:
        return SeriesRuns(
            self.active.get(series.name, []),
            self.last(series, FINISHED_STATUSES),
            self.waiting_for,
        )


def in_progress(runs: SeriesRuns, now_ms: int) -> str:
    """Each unfinished run: its id, age and whether its process is alive (or that it is queued)."""
    described = []
    for record in runs.active:
        run = record.dagster_run
        state = "queued" if run.status == DagsterRunStatus.QUEUED else liveness(run).state
        described.append(f"{run.run_id[:8]} {duration(now_ms - began_ms(record))} {state}")
    return ", ".join(described) or "-"


def why_stale(lag: Lag, runs: SeriesRuns, last_error: str, now_ms: int) -> str:
    """The first that holds: a run queued or in progress (and what it waits for), the last run
    failed (on an exchange gap, or otherwise), no run since the last one, never a run."""
    if runs.active:
        record = runs.active[0]
        age = duration(now_ms - began_ms(record))
        if record.dagster_run.status == DagsterRunStatus.QUEUED:
            return f"run queued for {age}"
        if pool := runs.waiting_for.get(record.dagster_run.run_id):
            return f"run stuck for {age} waiting for a slot in pool {pool}"
        return f"run in progress for {age}"
    last = runs.last
    if last is None:
        return "never run"
    status = last.dagster_run.status
    if status == DagsterRunStatus.SUCCESS:
        return f"no run since {when(began_ms(last))}"
    if status == DagsterRunStatus.CANCELED:
        return "last run canceled"
    if EMPTY_PAGE in last_error:  # `last_error` is this run's: the last failed one
        return f"exchange gap: no candles after {when(lag.last_ms)} (last run failed)"
    return "last run failed"


def run_error(instance: DagsterInstance, run_id: str) -> str:
    """The failed step's one-line error, else why the run itself failed (e.g. its process died)."""
    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = record.dagster_event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return data.user_failure_data.description
        return data.error.message.strip().splitlines()[-1] if data.error else "step failed"
    for record in instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE):
        return (record.dagster_event.message or "run failed").strip().splitlines()[0]
    return "run failed"


def began_ms(record: RunRecord) -> int:
    if record.start_time is not None:
        return int(record.start_time * 1000)
    return int(record.create_timestamp.timestamp() * 1000)


def when(ts_ms: int | None) -> str:
    return f"{from_ms(ts_ms):%Y-%m-%d %H:%M}" if ts_ms is not None else "-"


def duration(ms: int) -> str:
    minutes = max(ms, 0) // 60_000
    return (
        f"{minutes // 1440}d{minutes % 1440 // 60}h"
        if minutes >= 1440
        else f"{minutes // 60}h{minutes % 60:02d}m"
    )
