"""`marketdata sync` in separate processes: parallel runs lose nothing, killed runs resume."""

from __future__ import annotations

import time
from datetime import timedelta

from marketdata_pipeline.simulator import Faults

from ..conftest import TODAY, market, marketdata


def test_parallel_syncs_of_one_series_store_every_candle_exactly_once(
    make_project, simulator, tmp_path
):
    project = make_project(
        [market(start=TODAY - timedelta(days=8))], page_concurrency=2, pages_per_write=1
    )
    simulator.set_faults(Faults(latency_ms=20))
    ranges = [(8, 2), (6, 1), (7, 3), (5, 2)]  # overlapping ranges of one series, days ago
    runs = [
        marketdata(
            "sync",
            "--start",
            str(TODAY - timedelta(days=a)),
            "--end",
            str(TODAY - timedelta(days=b)),
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


def test_killed_sync_resumes_where_it_stopped(make_project, simulator, tmp_path):
    project = make_project(
        [market(start=TODAY - timedelta(days=30))], page_concurrency=1, pages_per_write=4
    )
    series = project.series()
    store = project.store
    simulator.set_faults(Faults(latency_ms=60))
    run = marketdata(
        "sync",
        "--start",
        str(TODAY - timedelta(days=30)),
        "--end",
        str(TODAY),
        cwd=tmp_path,
        wait=False,
    )
    deadline = time.time() + 120
    while store.summary(series).rows == 0 and time.time() < deadline:
        time.sleep(0.1)
    run.kill()
    run.wait()
    kept = store.summary(series).rows
    assert 0 < kept < 30 * 1440
    simulator.set_faults(Faults())
    simulator.reset_stats()
    finished = marketdata(
        "sync", "--start", str(TODAY - timedelta(days=30)), "--end", str(TODAY), cwd=tmp_path
    )
    assert finished.returncode == 0, finished.stderr
    total_pages = -(-30 * 1440 // 1000)
    assert simulator.stats()["klines_requests"] <= total_pages - kept // 1000 + 1
    stored = store.read(series)
    assert stored.height == 30 * 1440 and stored["open_time"].is_unique().all()
