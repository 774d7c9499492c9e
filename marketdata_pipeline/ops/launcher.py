"""The run launcher of the project's instance: Dagster's default one, made checkable.

Dagster's run monitoring fails a STARTED run whose worker is gone, but only if the run launcher
can check run workers, and the default launcher cannot. This one can: a run it launched is
alive while the code server that executes it lists it; a `marketdata sync` run is alive while
its process is (see `owners`).
"""

from __future__ import annotations

from dagster import DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus

from .owners import DEAD, HOST_TAG, host, liveness


class MonitoredRunLauncher(DefaultRunLauncher):
    """Launches runs on the code server like `DefaultRunLauncher`, and reports their health."""

    def launch_run(self, context: LaunchRunContext) -> None:
        # Before the worker exists: a code server address means something on this host only.
        self._instance.add_run_tags(context.dagster_run.run_id, {HOST_TAG: host()})
        super().launch_run(context)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        verdict = liveness(run)
        # Unknown is not dead: a run whose worker cannot be judged here is left running.
        status = WorkerStatus.FAILED if verdict.state == DEAD else WorkerStatus.RUNNING
        return CheckRunHealthResult(status, verdict.detail)
