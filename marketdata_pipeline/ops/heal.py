"""Self-healing runs: a run whose process died is failed, and its pool slots are freed.

Dagster's run monitoring does this in the daemon through the project's run launcher
(`launcher`); `marketdata sync` and `status`, and every schedule and sensor evaluation (through
`busy_series`), do it too, so a dead run never makes a series look busy.

They also free the slots a finished run still holds, as the daemon does once
`free_slots_after_run_end_seconds` have passed: a run interrupted with its steps (Ctrl-C of
`make demo`) ends before the daemon's next pass, and without a daemon its slots would stay taken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.storage.dagster_run import FINISHED_STATUSES

from ..automation.keys import SERIES_TAG
from .owners import DEAD, liveness

UNFINISHED = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


ENDED = "ended"  # a Healed status: the run had ended on its own, only its slots were held


@dataclass(frozen=True)
class Healed:
    run_id: str
    series: str
    status: str  # what the run was marked: failed or canceled; ENDED if it had ended
    reason: str

    def __str__(self) -> str:
        what = self.status if self.status == ENDED else f"marked {self.status}"
        return (
            f"run {self.run_id[:8]} ({self.series}) {what}: {self.reason}; its pool slots are freed"
        )


def heal_dead_runs(instance: DagsterInstance) -> list[Healed]:
    """Fail (or, if it was being canceled, cancel) every unfinished run whose process is gone."""
    healed = []
    for record in instance.get_run_records(RunsFilter(statuses=UNFINISHED)):
        verdict = liveness(record.dagster_run)
        if verdict.state != DEAD:
            continue
        run = instance.get_run_by_id(record.dagster_run.run_id)
        if run is None or run.is_finished:
            continue  # it ended while we looked
        reason = f"{verdict.detail}; found by marketdata"
        if run.status == DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, reason)
        else:
            instance.report_run_failed(run, reason)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        status = "canceled" if run.status == DagsterRunStatus.CANCELING else "failed"
        healed.append(Healed(run.run_id, run.tags.get(SERIES_TAG, "-"), status, verdict.detail))
    return healed + free_slots_of_ended_runs(instance, time.time())


def free_slots_of_ended_runs(instance: DagsterInstance, now: float) -> list[Healed]:
    """Free the pool slots of runs that finished `free_slots_after_run_end_seconds` or more
    before `now` (the same rule as the daemon's)."""
    storage = instance.event_log_storage
    holders = (
        storage.get_concurrency_run_ids() if storage.supports_global_concurrency_limits else []
    )
    if not holders:
        return []
    grace = instance.run_monitoring_settings.get("free_slots_after_run_end_seconds") or 0
    records = instance.get_run_records(
        RunsFilter(run_ids=list(holders), statuses=FINISHED_STATUSES)
    )
    freed = []
    for record in records:
        if record.end_time is not None and record.end_time + grace <= now:
            run = record.dagster_run
            storage.free_concurrency_slots_for_run(run.run_id)
            reason = f"{run.status.value.lower()} while holding pool slots"
            freed.append(Healed(run.run_id, run.tags.get(SERIES_TAG, "-"), ENDED, reason))
    return freed
