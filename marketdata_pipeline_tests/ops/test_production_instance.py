"""deploy/dagster.yaml is a working Dagster instance on a real Postgres: runs and events are
stored there, its limits are the ones it says, and its pools hold across processes."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dagster import DagsterEventType, DagsterInstance
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.test_utils import create_run_for_test

from marketdata_pipeline.automation.keys import SERIES_TAG
from marketdata_pipeline.config import load_config
from marketdata_pipeline.simulator import Faults

from ..conftest import day_key, market, marketdata, today, write_config

DEPLOY = Path(__file__).parents[2] / "deploy"
DEPLOYED = DEPLOY / "dagster.yaml"


def production_home(folder: Path, pg_url: str, monkeypatch) -> Path:
    """`folder/dagster_home` holding deploy/dagster.yaml, its env vars naming the test server."""
    url = urlsplit(pg_url)
    monkeypatch.setenv("DAGSTER_PG_HOST", url.hostname)
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port))
    monkeypatch.setenv("DAGSTER_PG_USERNAME", url.username)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "unused")  # the test server trusts 127.0.0.1
    monkeypatch.setenv("DAGSTER_PG_DB", url.path.lstrip("/"))
    home = folder / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOYED, home / "dagster.yaml")
    return home


def test_the_production_instance_stores_runs_in_postgres_with_its_limits(
    pg_url, tmp_path, monkeypatch
):
    home = production_home(tmp_path, pg_url, monkeypatch)
    with DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert type(instance.run_launcher).__name__ == "DockerRunLauncher"
        assert instance.run_monitoring_enabled
        queue = instance.get_concurrency_config().run_queue_config  # what the daemon applies
        assert queue.max_concurrent_runs == 8
        assert [(t["key"], t["value"], t["limit"]) for t in queue.tag_concurrency_limits] == [
            (SERIES_TAG, {"applyLimitPerUniqueValue": True}, 1)
        ]
        pools = instance.get_concurrency_config().pool_config
        assert (pools.pool_granularity.value, pools.default_pool_limit) == ("op", 4)
        run = create_run_for_test(instance, job_name="candles", tags={SERIES_TAG: "b/x/1m"})
        instance.report_engine_event("stored in postgres", run)
    with DagsterInstance.from_config(str(home)) as again:  # another process's view
        (stored,) = again.get_runs()
        assert stored.tags[SERIES_TAG] == "b/x/1m"
        messages = [e.message for e in again.all_logs(run.run_id)]
        assert "stored in postgres" in messages


def test_marketdata_pools_sets_each_exchanges_pool_in_postgres(
    pg_url, tmp_path, monkeypatch, simulator
):
    home = production_home(tmp_path, pg_url, monkeypatch)
    write_config(tmp_path, simulator.url, [market()], pool_size=3)
    done = marketdata("pools", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "pool binance: 3\n"), done.stderr
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.event_log_storage.get_concurrency_info("binance").slot_count == 3


def candle_steps(instance: DagsterInstance) -> list[tuple[float, float]]:
    """(start, end) of every candle step of every run, from the event log."""
    spans = []
    for run in instance.get_runs():
        starts, ends = {}, {}
        for event in instance.all_logs(run.run_id):
            key = event.step_key or ""
            if "candles_" not in key or event.dagster_event is None:
                continue
            if event.dagster_event.event_type == DagsterEventType.STEP_START:
                starts[key] = event.timestamp
            elif event.dagster_event.event_type in (
                DagsterEventType.STEP_SUCCESS,
                DagsterEventType.STEP_FAILURE,
            ):
                ends[key] = event.timestamp
        spans += [(starts[k], ends[k]) for k in starts]
    return sorted(spans)


@pytest.mark.slow
def test_a_pool_of_one_holds_across_two_processes_on_postgres(
    pg_url, tmp_path, monkeypatch, simulator
):
    """Two `marketdata sync` processes, each in its own folder (one machine each), share only
    the Postgres instance: their candle steps never run at once (with a pool of 2 they do)."""
    pool_size = 1
    simulator.set_faults(Faults(latency_ms=250))
    start = str(today() - timedelta(days=20))
    runs = []
    for symbol in ("BTC/USDT", "ETH/USDT"):
        folder = tmp_path / symbol.replace("/", "_")
        production_home(folder, pg_url, monkeypatch)
        entry = market(symbol, start=today() - timedelta(days=20), partition="month")
        write_config(folder, simulator.url, [entry], pool_size=pool_size, page_concurrency=1)
        runs.append(
            marketdata("sync", "--start", start, "--data", "candles", cwd=folder, wait=False)
        )
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    with DagsterInstance.from_config(str(tmp_path / "BTC_USDT" / "dagster_home")) as instance:
        (first, second) = candle_steps(instance)
        assert first[1] <= second[0], f"candle steps overlapped: {first} and {second}"
        info = instance.event_log_storage.get_concurrency_info("binance")
        assert info.slot_count == pool_size


def test_the_deployed_storage_takes_its_aws_keys_from_the_environment(
    s3, make_project, monkeypatch
):
    """deploy/marketdata.yaml's S3 URI (aws_auth=true) on moto's S3: a day of candles is
    materialized into it with the keys given only as environment variables (without them,
    moto answers 403: it checks that requests are signed, not with which key)."""
    deployed = load_config(DEPLOY / "marketdata.yaml").storage_uri
    uri = f"s3://127.0.0.1:{s3.new_bucket()}?port={s3.port}&{deployed.split('?', 1)[1]}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    project = make_project(settings={"storage": uri})
    project.materialize(project.series(), day_key(1))
    assert project.store.summary(project.series()).rows == 1440
