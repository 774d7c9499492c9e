"""A real `dagster dev` killed with runs in flight: once it is back, the dead runs are failed,
their pool slots freed, and the automation brings the series back to fresh."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from dagster import DagsterRunStatus, RunsFilter

from marketdata_pipeline.automation.freshness import lag_of
from marketdata_pipeline.automation.keys import SERIES_TAG
from marketdata_pipeline.simulator import Faults
from marketdata_pipeline.timeframes import now_ms

from ..conftest import free_port, market, slot_holders, today, wait_for


def dagster_dev(tmp_path: Path, port: int | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "MARKETDATA_CONFIG": str(tmp_path / "marketdata.yaml"),
    }
    command = [sys.executable, "-m", "dagster", "dev", "-m", "marketdata_pipeline.definitions"]
    return subprocess.Popen(
        [*command, "-h", "127.0.0.1", "-p", str(port or free_port())],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: killed whole, like a machine gone
    )


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM a process group started with start_new_session, SIGKILL if it lingers."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_runs_of_a_killed_dagster_dev_are_failed_and_the_series_recovers(
    make_project, simulator, tmp_path
):
    project = make_project(
        [market(start=today() - timedelta(days=2))], page_concurrency=1, pages_per_write=1
    )
    instance = project.instance
    instance.event_log_storage.set_concurrency_slots("binance", 4)
    simulator.set_faults(Faults(latency_ms=1500))  # a catch-up that takes minutes
    series = project.series()

    def holding_run():
        holders = slot_holders(instance)
        return instance.get_run_by_id(holders[0]) if holders else None

    first = dagster_dev(tmp_path)
    try:
        run = wait_for(holding_run, 240, "a run holding a slot of the binance pool")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED

    simulator.set_faults(Faults())
    second = dagster_dev(tmp_path)
    try:
        ended = wait_for(
            lambda: instance.get_run_by_id(run.run_id).is_finished, 120, "the dead run ended"
        )
        assert ended and instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
        wait_for(lambda: run.run_id not in slot_holders(instance), 120, "its pool slot freed")

        success = RunsFilter(tags={SERIES_TAG: series.name}, statuses=[DagsterRunStatus.SUCCESS])
        wait_for(lambda: instance.get_run_records(success), 240, "a run of the series succeeded")
        last = project.store.summary(series).last_ms
        assert not lag_of(series, last, now_ms(), project.config.model.freshness).stale
    finally:
        stop_group(second)
