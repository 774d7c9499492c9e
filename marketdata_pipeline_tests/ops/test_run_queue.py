"""The instance's run queue, run by a real `dagster-daemon`: one run at a time per series."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterRunStatus, RunsFilter
from dagster._core.definitions.assets.job.asset_job import IMPLICIT_ASSET_JOB_NAME as ASSET_JOB
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget

from marketdata_pipeline.automation.runs import series_run
from marketdata_pipeline.simulator import Faults

from ..conftest import day_key, market

MODULE = "marketdata_pipeline.definitions"


def submit(instance, workspace, series, first: str, last: str) -> str:
    """Queue one run of the series' candles and indicators, as a UI backfill does."""
    selection, tags = series_run(series, first, last)
    request = workspace.create_request_context()
    (location_name,) = request.code_location_names
    location = request.get_code_location(location_name)
    (repository,) = location.get_repositories().values()
    remote_job = location.get_job(
        JobSubsetSelector(
            location_name=location_name,
            repository_name=repository.name,
            job_name=ASSET_JOB,
            op_selection=None,
            asset_selection=set(selection),
        )
    )
    plan = location.get_execution_plan(
        remote_job, {}, step_keys_to_execute=None, known_state=None, instance=instance
    )
    run = instance.create_run(
        job_name=ASSET_JOB,
        run_id=None,
        run_config={},
        resolved_op_selection=None,
        step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags=tags,
        job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_selection=frozenset(selection),
        asset_check_selection=None,
        asset_graph=repository.asset_graph,
    )
    return instance.submit_run(run.run_id, request).run_id


@pytest.mark.slow
def test_the_daemon_runs_one_run_per_series_at_a_time_and_other_series_beside_it(
    make_project, simulator, tmp_path, monkeypatch
):
    """Two runs of BTC and one of ETH queued at once: the second BTC run starts only after the
    first ended, while ETH runs beside the first (`tag_concurrency_limits` of DAGSTER_YAML)."""
    project = make_project(
        [market("BTC/USDT"), market("ETH/USDT")],
        settings={"automation": {"running": False}},
        page_concurrency=1,
        pages_per_write=1,
    )
    monkeypatch.setenv("MARKETDATA_CONFIG", str(tmp_path / "marketdata.yaml"))
    simulator.set_faults(Faults(latency_ms=700))  # a run of three days takes several seconds
    instance = project.instance
    btc, eth = project.series(), project.series("ETH/USDT")
    target = ModuleTarget(MODULE, None, str(tmp_path), None)
    with WorkspaceProcessContext(instance, target) as workspace:
        first = submit(instance, workspace, btc, day_key(5), day_key(3))
        second = submit(instance, workspace, btc, day_key(2), day_key(2))
        other = submit(instance, workspace, eth, day_key(2), day_key(2))
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", MODULE],
        cwd=tmp_path,
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.log").open("w"),
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            runs = instance.get_run_records(RunsFilter(run_ids=[first, second, other]))
            if all(r.dagster_run.is_finished for r in runs):
                break
            time.sleep(1)
    finally:
        daemon.terminate()
        daemon.wait(60)
    records = {r.dagster_run.run_id: r for r in runs}
    assert {k: r.dagster_run.status for k, r in records.items()} == dict.fromkeys(
        (first, second, other), DagsterRunStatus.SUCCESS
    )
    assert records[second].start_time >= records[first].end_time  # queued behind the first
    assert records[other].start_time < records[first].end_time  # another series: beside it
    assert project.store.summary(btc).rows == 4 * 1440
    assert project.store.summary(eth).rows == 1440
