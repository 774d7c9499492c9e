"""/ready names what is not ready (storage, coordination, the Dagster daemon, stalled streams)
and recovers with it; /metrics exports exactly what a sync did, as the simulator saw it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterRunStatus
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.types import DaemonHeartbeat
from fastapi.testclient import TestClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from marketdata_pipeline.access.api import create_app
from marketdata_pipeline.automation.keys import SERIES_TAG
from marketdata_pipeline.coordination import coordination_for
from marketdata_pipeline.exchange.limits import limits_for
from marketdata_pipeline.simulator import Faults
from marketdata_pipeline.storage.schema import INDICATORS

from ..conftest import day_key, marketdata
from ..ops.test_run_queue import submit

MODULE = "marketdata_pipeline.definitions"
NO_DAEMON = "no Dagster daemon heartbeat: is `dagster-daemon run` running?"


def daemon_beats(instance, age: float = 0.0) -> None:
    """What a running `dagster-daemon` writes: a heartbeat per daemon it runs."""
    for daemon in instance.get_required_daemon_types():
        instance.add_daemon_heartbeat(DaemonHeartbeat(time.time() - age, daemon, "d1", []))


def stream_beat(config, name: str, quiet: float) -> None:
    """What the stream service writes: its state, its last message `quiet` seconds ago."""
    payload = {"connected": True, "last_message": time.time() - quiet, "lag_seconds": 0.25}
    coordination_for(config).beat(name, {**payload, "reconnects": 2, "resyncs": 1})


def ready(client: TestClient) -> tuple[int, dict]:
    answer = client.get("/ready")
    return answer.status_code, answer.json()


def test_ready_names_a_missing_daemon_then_answers_200(make_project):
    project = make_project()
    client = TestClient(create_app(project.config))
    status, body = ready(client)
    assert (status, body["status"], body["failed"]) == (
        503,
        "not ready",
        {"dagster_daemon": NO_DAEMON},
    )
    assert body["checks"] == {
        "storage": "ok",
        "coordination": "ok",
        "dagster_daemon": NO_DAEMON,
        "streams": "ok",
    }
    daemon_beats(project.instance)
    assert ready(client) == (
        200,
        {"status": "ready", "failed": {}, "checks": dict.fromkeys(body["checks"], "ok")},
    )


def test_ready_names_late_daemons_and_stalled_streams(make_project):
    project = make_project()
    client = TestClient(create_app(project.config))
    daemon_beats(project.instance, age=300)
    stream_beat(project.config, "binance/btc_usdt/trades", quiet=1)
    stream_beat(project.config, "binance/eth_usdt/order_book", quiet=500)
    status, body = ready(client)
    assert status == 503 and set(body["failed"]) == {"dagster_daemon", "streams"}
    assert body["failed"]["dagster_daemon"].startswith(
        "Dagster daemon heartbeats older than 120s: "
    )
    assert body["failed"]["streams"] == (
        "streams stalled for more than 120s: binance/eth_usdt/order_book (no message for 500s)"
    )
    daemon_beats(project.instance)
    stream_beat(project.config, "binance/eth_usdt/order_book", quiet=1)
    assert ready(client)[0] == 200


def test_ready_is_503_while_postgres_is_down_and_200_when_it_is_back(make_project, own_postgres):
    project = make_project(settings={"coordination": own_postgres.url()})
    client = TestClient(create_app(project.config))
    daemon_beats(project.instance)
    assert ready(client)[0] == 200
    own_postgres.stop()
    status, body = ready(client)
    assert status == 503 and set(body["failed"]) == {"coordination", "streams"}
    assert body["failed"]["coordination"].startswith(f"{coordination_for(project.config).where}: ")
    own_postgres.start()
    assert ready(client) == (
        200,
        {
            "status": "ready",
            "failed": {},
            "checks": {
                "storage": "ok",
                "coordination": "ok",
                "dagster_daemon": "ok",
                "streams": "ok",
            },
        },
    )


def scrape(client: TestClient) -> list:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == CONTENT_TYPE_LATEST
    return [s for f in text_string_to_metric_families(answer.text) for s in f.samples]


def total(samples: list, name: str, by: str | None = None, **labels) -> dict | float:
    """The sum of `name`'s samples with `labels`, or sums by the label `by`."""
    chosen = [s for s in samples if s.name == name and labels.items() <= s.labels.items()]
    if by is None:
        return sum(s.value for s in chosen)
    sums: dict[str, float] = {}
    for s in chosen:
        sums[s.labels[by]] = sums.get(s.labels[by], 0) + s.value
    return sums


@pytest.mark.parametrize("backend", ["embedded", "postgres"])
def test_metrics_count_a_sync_exactly_as_the_simulator_saw_it(
    backend, make_project, simulator, tmp_path, request
):
    settings = (
        {"coordination": request.getfixturevalue("pg_url")} if backend == "postgres" else None
    )
    project = make_project(settings=settings, max_retries=10)
    simulator.set_faults(Faults(storm_rate=0.1, storm_retry_after_s=0, error_rate=0.1, seed=3))
    done = marketdata("sync", "--start", day_key(3), "--data", "candles", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    stats = simulator.stats()
    samples = scrape(TestClient(create_app(project.config)))
    requests = "marketdata_requests_total"
    assert total(samples, requests, by="endpoint") == stats["requests_by_path"]
    assert total(samples, requests, by="status") == {
        ("error" if s == "dropped" else s): n for s, n in stats["status_counts"].items()
    }
    assert stats["status_counts"].get("429", 0) > 0  # the faults happened
    failed = sum(n for s, n in stats["status_counts"].items() if s != "200")
    assert total(samples, "marketdata_retries_total", exchange="binance") == failed
    series = project.series()
    store = project.store
    rows = "marketdata_rows_written_total"
    assert total(samples, rows, library="candles") == store.summary(series).rows
    assert total(samples, rows, library=INDICATORS) == store.summary(series, INDICATORS).rows
    assert total(samples, "marketdata_budget_wait_seconds_total", exchange="binance") >= 0
    limit = limits_for(project.config.connectors[0]).weight
    assert total(samples, "marketdata_budget_weight_limit", exchange="binance") == limit
    (run,) = project.instance.get_run_records()
    assert run.dagster_run.status == DagsterRunStatus.SUCCESS
    assert total(samples, "marketdata_dagster_runs", status="SUCCESS") == 1
    last = total(
        samples, "marketdata_dagster_last_run_seconds", series=run.dagster_run.tags[SERIES_TAG]
    )
    assert last == pytest.approx(run.end_time - run.start_time)
    assert total(samples, "marketdata_exporter_up", by="source") == {
        "counters": 1,
        "budgets": 1,
        "streams": 1,
        "dagster": 1,
    }


@pytest.mark.slow
def test_ready_waits_for_a_real_daemons_heartbeats(make_project, tmp_path, monkeypatch):
    """Every daemon the instance requires beats under `dagster-daemon run`: /ready turns 200."""
    project = make_project(settings={"automation": {"running": False}})
    monkeypatch.setenv("MARKETDATA_CONFIG", str(project.config.path))
    client = TestClient(create_app(project.config))
    assert ready(client)[1]["failed"] == {"dagster_daemon": NO_DAEMON}
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", MODULE],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.log").open("w"),
    )
    try:
        deadline = time.monotonic() + 180
        while (answer := ready(client))[0] != 200 and time.monotonic() < deadline:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()
            time.sleep(1)
    finally:
        daemon.terminate()
        daemon.wait(60)
    assert answer[0] == 200, answer[1]


@pytest.mark.slow
def test_a_run_the_daemon_launches_is_counted_from_its_step_processes(
    make_project, simulator, tmp_path, monkeypatch
):
    """A queued run's steps run in processes of their own, which add their counts as they exit:
    /metrics then counts exactly the requests the simulator served."""
    project = make_project(settings={"automation": {"running": False}})
    monkeypatch.setenv("MARKETDATA_CONFIG", str(project.config.path))
    instance = project.instance
    with WorkspaceProcessContext(instance, ModuleTarget(MODULE, None, str(tmp_path), None)) as ws:
        run_id = submit(instance, ws, project.series(), day_key(2), day_key(2))
    simulator.reset_stats()
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", MODULE],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.log").open("w"),
    )
    client = TestClient(create_app(project.config))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            counted = total(scrape(client), "marketdata_requests_total", by="endpoint")
            if (
                instance.get_run_by_id(run_id).is_finished
                and counted == (simulator.stats()["requests_by_path"])
            ):
                break
            time.sleep(1)
    finally:
        daemon.terminate()
        daemon.wait(60)
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS
    assert counted == simulator.stats()["requests_by_path"]
    rows = total(scrape(client), "marketdata_rows_written_total", library="candles")
    assert rows == project.store.summary(project.series()).rows == 1440
