"""Which process runs a run, and whether it lives: pid, pid start time and host, or code server."""

import os
import socket

from dagster import DagsterRunStatus
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._core.test_utils import create_run_for_test

from marketdata_pipeline.ops.owners import (
    HOST_TAG,
    PID_START_TAG,
    PID_TAG,
    liveness,
    owner_tags,
    process_start,
)

from ..conftest import dead_pid, free_port, owned_run


def test_a_run_of_this_process_is_alive(make_project):
    project = make_project()
    run = owned_run(project.instance, "binance/btc_usdt/1m")
    assert run.tags[PID_TAG] == str(os.getpid()) and run.tags[HOST_TAG] == socket.gethostname()
    assert liveness(run).state == "alive"


def test_a_run_whose_process_exited_is_dead(make_project):
    project = make_project()
    pid = dead_pid()
    verdict = liveness(owned_run(project.instance, "binance/btc_usdt/1m", pid=pid))
    assert (verdict.state, verdict.detail) == (
        "dead",
        f"its process {pid} on {socket.gethostname()} is gone",
    )


def test_a_reused_pid_is_another_process(make_project):
    project = make_project()
    tags = {**owner_tags(), PID_START_TAG: str(int(process_start(os.getpid())) - 1)}
    run = create_run_for_test(project.instance, status=DagsterRunStatus.STARTED, tags=tags)
    assert liveness(run).state == "dead"


def test_another_hosts_process_and_a_run_without_owner_are_unknown(make_project):
    project = make_project()
    elsewhere = {**owner_tags(), PID_TAG: str(dead_pid()), HOST_TAG: "elsewhere"}
    run = create_run_for_test(project.instance, status=DagsterRunStatus.STARTED, tags=elsewhere)
    assert liveness(run).state == "unknown"
    bare = create_run_for_test(project.instance, status=DagsterRunStatus.STARTED)
    assert liveness(bare).state == "unknown"


def test_a_run_whose_code_server_is_gone_is_dead_once_started(make_project):
    project = make_project()
    port = free_port()  # nothing listens there
    tags = {
        GRPC_INFO_TAG: f'{{"host": "localhost", "port": {port}}}',
        HOST_TAG: owner_tags()[HOST_TAG],
    }
    started = create_run_for_test(project.instance, status=DagsterRunStatus.STARTED, tags=tags)
    verdict = liveness(started)
    assert (verdict.state, verdict.detail) == ("dead", f"its code server localhost:{port} is gone")
    # Before the code server has started it, a run is Dagster's start timeout's business.
    starting = create_run_for_test(project.instance, status=DagsterRunStatus.STARTING, tags=tags)
    assert liveness(starting).state == "unknown"
