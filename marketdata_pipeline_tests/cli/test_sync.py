"""`marketdata sync` in separate processes: parallel runs lose nothing, killed runs resume and
are healed, signals stop it cleanly, and every wait says what for and ends."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.instance.ref import InstanceRef

from marketdata_pipeline.simulator import Faults
from marketdata_pipeline.storage.schema import INDICATORS
from marketdata_pipeline.timeframes import parse_time

from ..conftest import dead_pid, market, marketdata, owned_run, slot_holders, today
from ..indicators.test_assets import assert_equals_talib_on_whole_series

HOST = socket.gethostname()


def start_and_wait_for_rows(project, tmp_path, days: int = 30):
    """A slow sync of `days` days of BTC/USDT 1m, once it has written a first chunk."""
    run = marketdata(
        "sync", "--start", str(today() - timedelta(days=days)), cwd=tmp_path, wait=False
    )
    deadline = time.time() + 120
    while project.store.summary(project.series()).rows == 0 and time.time() < deadline:
        time.sleep(0.1)
    return run


def test_parallel_syncs_of_one_series_store_every_candle_exactly_once(
    make_project, simulator, tmp_path
):
    project = make_project(
        [market(start=today() - timedelta(days=8))], page_concurrency=2, pages_per_write=1
    )
    simulator.set_faults(Faults(latency_ms=20))
    ranges = [(8, 2), (6, 1), (7, 3), (5, 2)]  # overlapping ranges of one series, days ago
    runs = [
        marketdata(
            "sync",
            "--start",
            str(today() - timedelta(days=a)),
            "--end",
            str(today() - timedelta(days=b)),
            cwd=tmp_path,
            wait=False,
        )
        for a, b in ranges
    ]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    stored = project.store.read(project.series())
    assert stored["open_time"].is_unique().all()
    assert stored.height == 7 * 1440  # days 8 ago .. 2 ago, inclusive of partial overlaps
    assert stored["open_time"].diff().drop_nulls().dt.total_minutes().max() == 1


def test_killed_sync_is_healed_and_resumes_where_it_stopped(make_project, simulator, tmp_path):
    project = make_project(
        [market(start=today() - timedelta(days=30))], page_concurrency=1, pages_per_write=4
    )
    series = project.series()
    store = project.store
    simulator.set_faults(Faults(latency_ms=60))
    run = start_and_wait_for_rows(project, tmp_path)
    run.kill()
    run.wait()
    kept = store.summary(series).rows
    assert 0 < kept < 30 * 1440
    (killed,) = project.instance.get_run_records()
    assert killed.dagster_run.status == DagsterRunStatus.STARTED  # what the next sync heals
    assert slot_holders(project.instance) == [killed.dagster_run.run_id]
    simulator.set_faults(Faults())
    simulator.reset_stats()
    finished = marketdata(
        "sync", "--start", str(today() - timedelta(days=30)), "--end", str(today()), cwd=tmp_path
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr.splitlines()[0] == (
        f"healed: run {killed.dagster_run.run_id[:8]} (binance/btc_usdt/1m) marked failed: its"
        f" process {run.pid} on {HOST} is gone; its pool slots are freed"
    )
    healed = project.instance.get_run_by_id(killed.dagster_run.run_id)
    assert healed.status == DagsterRunStatus.FAILURE
    assert slot_holders(project.instance) == []
    total_pages = -(-30 * 1440 // 1000)
    assert simulator.stats()["klines_requests"] <= total_pages - kept // 1000 + 1
    stored = store.read(series)
    assert stored.height == 30 * 1440 and stored["open_time"].is_unique().all()


def month_start(day) -> date:
    return day.replace(day=1)


def test_a_later_month_then_an_earlier_one_leaves_indicators_equal_to_talib(make_project, tmp_path):
    """Without any daemon: the second sync recomputes the later month, whose warm-up changed."""
    later = month_start(month_start(today()) - timedelta(days=1))
    earlier = month_start(later - timedelta(days=1))
    project = make_project([market(timeframes=["5m"], start=earlier, partition=None)])
    series = project.series(timeframe="5m")
    for start, end in ((later, month_start(today())), (earlier, later)):
        done = marketdata("sync", "--start", str(start), "--end", str(end), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    candles = project.store.read(series)
    assert candles["open_time"].min() == datetime(earlier.year, earlier.month, 1, tzinfo=UTC)
    assert_equals_talib_on_whole_series(project, series)


def test_a_complete_range_costs_no_run_and_no_request(
    make_project, simulator, tmp_path, monkeypatch
):
    project = make_project([market(start=today() - timedelta(days=3))])
    start, end = today() - timedelta(days=3), today() - timedelta(days=1)
    args = ("sync", "--start", str(start), "--end", str(end))
    assert marketdata(*args, cwd=tmp_path).returncode == 0
    runs = len(project_runs(tmp_path))
    simulator.reset_stats()
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    again = marketdata(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"nothing to fetch for binance/btc_usdt/1m: {start} on is complete\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in again.stderr.splitlines()}
    assert {"dagster", "ccxt", "arcticdb", "pandas", "polars"}.isdisjoint(imported)
    assert simulator.stats()["requests"] == 0
    assert len(project_runs(tmp_path)) == runs
    # A write by another process (here: indicator rows deleted) is seen, not the memory of it.
    project.store.replace(
        project.series(),
        pl.DataFrame(),
        parse_time(start, "start"),
        parse_time(end, "end"),
        INDICATORS,
    )
    healed = marketdata(*args, cwd=tmp_path)
    assert healed.returncode == 0, healed.stderr
    assert "nothing to fetch" not in healed.stdout
    assert len(project_runs(tmp_path)) == runs + 1
    assert_equals_talib_on_whole_series(project, project.series())


def project_runs(folder) -> list:
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(folder / "dagster_home"))) as instance:
        return instance.get_run_records()


def test_series_sharing_their_partitions_sync_in_one_run(make_project, tmp_path):
    start = today() - timedelta(days=2)
    project = make_project([market(start=start), market("ETH/USDT", start=start)])
    done = marketdata("sync", "--start", str(start), "--end", str(today()), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    runs = project_runs(tmp_path)
    assert [r.dagster_run.tags["marketdata/series"] for r in runs] == [
        "binance/btc_usdt/1m,binance/eth_usdt/1m"
    ]
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert project.store.summary(project.series(symbol)).rows == 2 * 1440


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_sync_cancels_its_run_and_frees_its_slot(
    make_project, simulator, tmp_path, signum
):
    project = make_project(
        [market(start=today() - timedelta(days=30))], page_concurrency=1, pages_per_write=2
    )
    simulator.set_faults(Faults(latency_ms=60))
    run = start_and_wait_for_rows(project, tmp_path)
    run.send_signal(signum)
    _, err = run.communicate(timeout=30)
    assert run.returncode == 128 + signum
    (record,) = project.instance.get_run_records()
    assert err.splitlines()[-1] == (
        f"error: stopped by {signum.name}; run {record.dagster_run.run_id[:8]}"
        " (binance/btc_usdt/1m) canceled, its pool slots freed; what it wrote is kept and the"
        " next sync resumes from there"
    )
    assert record.dagster_run.status == DagsterRunStatus.CANCELED
    assert slot_holders(project.instance) == []
    stored = project.store.read(project.series())
    assert stored.height > 0 and stored["open_time"].is_unique().all()


def test_a_sync_waiting_for_a_pool_slot_says_for_whom_and_gives_up(make_project, tmp_path):
    project = make_project(pool_size=1)
    instance = project.instance
    instance.event_log_storage.set_concurrency_slots("binance", 1)
    holder = owned_run(instance, "binance/eth_usdt/1m")  # this test's process: alive
    assert instance.event_log_storage.claim_concurrency_slot(
        "binance", holder.run_id, "s"
    ).is_claimed
    run = marketdata("sync", "--start", str(today()), "--wait-timeout", "3", cwd=tmp_path)
    assert run.returncode == 1
    held = (
        rf"a slot in pool binance \(1/1 in use\), held by run {holder.run_id[:8]}"
        rf" \(binance/eth_usdt/1m, pid {os.getpid()} alive\)"
    )
    first, *_, last = run.stderr.splitlines()
    assert re.fullmatch(rf"sync: waiting \ds for {held} \(gives up after 3s\)", first)
    (mine,) = [r for r in instance.get_run_records() if r.dagster_run.run_id != holder.run_id]
    assert re.fullmatch(
        rf"error: gave up after waiting \ds for {held}; see `marketdata status`, or raise"
        rf" --wait-timeout; run {mine.dagster_run.run_id[:8]} \(binance/btc_usdt/1m\) marked"
        " failed, its pool slots freed",
        last,
    )
    assert mine.dagster_run.status == DagsterRunStatus.FAILURE
    info = instance.event_log_storage.get_concurrency_info("binance")
    assert [s.run_id for s in info.pending_steps] == [holder.run_id]  # its queued step is gone


def test_a_pool_slot_held_by_a_dead_run_is_freed_and_the_sync_goes_on(make_project, tmp_path):
    project = make_project(pool_size=1)
    instance = project.instance
    instance.event_log_storage.set_concurrency_slots("binance", 1)
    holder = owned_run(instance, "binance/eth_usdt/1m", pid=dead_pid())
    assert instance.event_log_storage.claim_concurrency_slot(
        "binance", holder.run_id, "s"
    ).is_claimed
    run = marketdata("sync", "--start", str(today()), "--wait-timeout", "60", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith(f"healed: run {holder.run_id[:8]} (binance/eth_usdt/1m)")
    assert project.store.summary(project.series()).rows > 0


def test_a_sync_waiting_for_a_series_lock_names_the_holder_and_gives_up(make_project, tmp_path):
    project = make_project()
    holder = owned_run(project.instance, "binance/btc_usdt/1m")  # a run of this process
    with project.store.lock(project.series()):
        run = marketdata("sync", "--start", str(today()), "--wait-timeout", "3", cwd=tmp_path)
    assert run.returncode == 1
    held = (
        r"the lock of series binance/btc_usdt/1m, held by run"
        rf" {holder.run_id[:8]} \(binance/btc_usdt/1m, pid {os.getpid()} alive\)"
    )
    first, *_, last = run.stderr.splitlines()
    assert re.fullmatch(rf"sync: waiting \ds for {held} \(gives up after 3s\)", first)
    assert re.fullmatch(rf"error: gave up after waiting \ds for {held}; .* marked failed, .*", last)


def test_a_sync_waiting_for_the_budget_says_so_and_gives_up(make_project, tmp_path):
    # Checking the symbol takes 20 of 30; the run's own markets request waits for the window.
    make_project(rate_limit={"weight": 30, "period_seconds": 60})
    run = marketdata("sync", "--start", str(today()), "--wait-timeout", "3", cwd=tmp_path)
    assert run.returncode == 1
    first, *_, last = run.stderr.splitlines()
    what = "the binance request budget of 30 per 60s"
    assert re.fullmatch(rf"sync: waiting \ds for {what} \(gives up after 3s\)", first)
    assert re.match(rf"error: gave up after waiting \ds for {what}; ", last)
