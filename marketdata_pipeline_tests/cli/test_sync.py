"""`marketdata sync` in separate processes: parallel runs lose nothing, killed runs resume."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from marketdata_pipeline.simulator import Faults

from ..conftest import market, marketdata, today
from ..indicators.test_assets import assert_equals_talib_on_whole_series


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


def test_killed_sync_resumes_where_it_stopped(make_project, simulator, tmp_path):
    project = make_project(
        [market(start=today() - timedelta(days=30))], page_concurrency=1, pages_per_write=4
    )
    series = project.series()
    store = project.store
    simulator.set_faults(Faults(latency_ms=60))
    run = marketdata(
        "sync",
        "--start",
        str(today() - timedelta(days=30)),
        "--end",
        str(today()),
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
        "sync", "--start", str(today() - timedelta(days=30)), "--end", str(today()), cwd=tmp_path
    )
    assert finished.returncode == 0, finished.stderr
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


def test_a_complete_range_costs_no_run_and_no_request(make_project, simulator, tmp_path):
    make_project([market(start=today() - timedelta(days=3))])
    args = (
        "sync",
        "--start",
        str(today() - timedelta(days=3)),
        "--end",
        str(today() - timedelta(days=1)),
    )
    assert marketdata(*args, cwd=tmp_path).returncode == 0
    runs = len(project_runs(tmp_path))
    simulator.reset_stats()
    again = marketdata(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == (
        f"nothing to fetch for binance/btc_usdt/1m: {today() - timedelta(days=3)} on is complete\n"
    )
    assert simulator.stats()["requests"] == 0
    assert len(project_runs(tmp_path)) == runs


def test_a_range_before_the_series_start_is_a_user_mistake(make_project, tmp_path):
    make_project([market(start=today() - timedelta(days=3))])
    done = marketdata("sync", "--start", "2020-01-01", "--end", "2020-02-01", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: nothing to sync: binance BTC/USDT 1m starts {today() - timedelta(days=3)}\n"
    )


def project_runs(folder) -> list:
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(folder / "dagster_home"))) as instance:
        return instance.get_run_records()


def test_series_sharing_their_partitions_sync_in_one_run_and_fail_by_name(make_project, tmp_path):
    start = today() - timedelta(days=2)
    project = make_project(
        [market(start=start), market("ETH/USDT", start=start), market("NOPE/USDT", start=start)]
    )
    done = marketdata("sync", "--start", str(start), "--end", str(today()), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: binance/nope_usdt/1m {start}..{today() - timedelta(days=1)}: binance does not list"
        " symbol 'NOPE/USDT'; fix markets[].symbol in the config (ccxt unified form, e.g. BTC/USDT)"
    ]
    runs = project_runs(tmp_path)
    assert [r.dagster_run.tags["marketdata/series"] for r in runs] == [
        "binance/btc_usdt/1m,binance/eth_usdt/1m,binance/nope_usdt/1m"
    ]
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert project.store.summary(project.series(symbol)).rows == 2 * 1440
