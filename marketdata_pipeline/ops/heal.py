"""Self-healing runs: a run whose process died is failed, and its pool slots are freed.

Dagster's run monitoring does this in the daemon through the project's run launcher
(`launcher`); `marketdata sync` and `status`, and every schedule and sensor evaluation (through
`busy_series`), do it too, so a dead run never makes a series look busy.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from ..automation.keys import SERIES_TAG
from .owners import DEAD, liveness

UNFINISHED = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


@dataclass(frozen=True)
class Healed:
    run_id: str
    series: str
    status: str  # what the run was marked: failure or canceled
    reason: str

    def __str__(self) -> str:
        return (
            f"run {self.run_id[:8]} ({self.series}) marked {self.status}: {self.reason};"
            " its pool slots are freed"
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
    return healed
