"""The shared request budget: a rolling window that holds across processes."""

import asyncio
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from marketdata_pipeline.coordination.sqlite_budget import SqliteBudget as RequestBudget
from marketdata_pipeline.ops import waits


def test_rolling_window_admits_up_to_the_budget_then_says_how_long_to_wait(tmp_path):
    budget = RequestBudget(tmp_path / "b.sqlite", "binance", weight=10, period_seconds=60)
    assert budget.window == 60.5  # the period plus the arrival margin
    assert [budget.try_take(2, now=100.0 + i) for i in range(5)] == [0.0] * 5
    assert budget.try_take(2, now=110.0) == pytest.approx(50.5)  # until the first grant ends
    assert budget.used(now=110.0) == 10  # a refused request takes nothing
    assert budget.try_take(2, now=160.49) == pytest.approx(0.01)
    assert budget.try_take(2, now=160.5) == 0.0  # the first grant ended exactly now
    assert budget.used(now=160.5) == 10


def test_the_wait_is_until_enough_weight_has_left_the_window(tmp_path):
    budget = RequestBudget(tmp_path / "b.sqlite", "binance", weight=10, period_seconds=60)
    assert budget.try_take(4, now=100.0) == budget.try_take(4, now=101.0) == 0.0
    assert budget.try_take(2, now=102.0) == 0.0  # exactly the budget
    assert budget.try_take(1, now=102.0) == pytest.approx(58.5)  # the first grant frees 4
    assert budget.try_take(4, now=102.0) == pytest.approx(58.5)
    assert budget.try_take(5, now=102.0) == pytest.approx(59.5)  # needs the second one too
    assert budget.try_take(10, now=102.0) == pytest.approx(60.5)  # and the third


def test_budgets_of_different_connectors_are_apart(tmp_path):
    path = tmp_path / "new" / "folder" / "b.sqlite"  # created on first use
    binance = RequestBudget(path, "binance", weight=4, period_seconds=60)
    okx = RequestBudget(path, "okx", weight=4, period_seconds=60)
    assert binance.try_take(4, now=100.0) == 0.0
    assert okx.try_take(4, now=100.0) == 0.0
    assert binance.used(now=100.0) == okx.used(now=100.0) == 4
    okx.pause(10, now=100.0)
    assert binance.paused_for(now=100.0) == 0.0 and okx.paused_for(now=100.0) == 10.0


def test_a_pause_holds_every_taker_and_a_shorter_one_never_cuts_it(tmp_path):
    path = tmp_path / "b.sqlite"
    budget = RequestBudget(path, "binance", weight=100, period_seconds=60)
    budget.pause(5, now=100.0)
    budget.pause(1, now=101.0)  # a later, shorter Retry-After
    other = RequestBudget(path, "binance", weight=100, period_seconds=60)  # another process's
    assert other.paused_for(now=102.0) == 3.0
    assert other.try_take(2, now=103.0) == 2.0
    assert other.used(now=103.0) == 0
    assert other.try_take(2, now=105.0) == 0.0  # the pause ends exactly now: taken
    assert other.used(now=105.0) == 2
    assert budget.paused_for(now=106.0) == 0.0


def test_acquire_sleeps_until_the_weight_fits_and_returns_the_wait(tmp_path):
    budget = RequestBudget(tmp_path / "b.sqlite", "binance", weight=2, period_seconds=0.1)
    assert asyncio.run(budget.acquire(2)) == 0.0
    waited = asyncio.run(budget.acquire(2))
    assert 0.45 < waited <= 0.61  # the window: 0.1 s period plus the 0.5 s arrival margin


def test_acquire_adds_up_a_pause_and_then_a_full_window(tmp_path):
    """A 0.3 s pause first, then the window's grant that ends 0.6 s after it was taken."""
    budget = RequestBudget(tmp_path / "b.sqlite", "binance", weight=2, period_seconds=0.1)
    assert budget.try_take(2) == 0.0
    budget.pause(0.3)
    assert 0.45 < asyncio.run(budget.acquire(2)) <= 0.61


def test_a_wait_for_the_budget_says_which_budget_and_whether_a_429_paused_it(tmp_path):
    """What `marketdata sync` shows while a request waits (ops/waits): nothing for a grant."""
    budget = RequestBudget(tmp_path / "b.sqlite", "binance", weight=2, period_seconds=0.5)

    async def seen_while_acquiring() -> list[str]:
        task = asyncio.create_task(budget.acquire(2))
        await asyncio.sleep(0.01)  # the task runs first, up to its first sleep
        seen = [w.what for w in waits.current()]
        await task
        return seen

    assert asyncio.run(seen_while_acquiring()) == []  # taken at once
    assert asyncio.run(seen_while_acquiring()) == ["the binance request budget of 2 per 0.5s"]
    budget.pause(0.3)
    assert asyncio.run(seen_while_acquiring()) == [
        "the binance request budget of 2 per 0.5s (paused after a 429)"
    ]
    assert waits.current() == []


def test_a_request_heavier_than_the_window_goes_alone_and_holds_the_next_back(tmp_path):
    budget = RequestBudget(tmp_path / "b.sqlite", "x", weight=5, period_seconds=1)
    window = budget.window
    assert budget.try_take(1, now=100.0) == 0.0
    assert budget.try_take(8, now=100.1) == pytest.approx(window - 0.1)  # waits for an empty window
    assert budget.try_take(8, now=100.0 + window + 0.01) == 0.0
    assert budget.try_take(1, now=100.0 + window + 0.02) == pytest.approx(window - 0.01)


def _spend(path, n, log):
    budget = RequestBudget(path, "shared", weight=40, period_seconds=1.0)

    async def run():
        with open(log, "w") as out:
            for _ in range(n):
                await budget.acquire(2)
                out.write(f"{time.time()}\n")

    asyncio.run(run())


def test_budget_holds_across_processes(tmp_path):
    path = tmp_path / "b.sqlite"
    logs = [tmp_path / f"worker{i}.log" for i in range(4)]
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_spend, args=(path, 15, log)) for log in logs]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    grants = sorted(float(t) for log in logs for t in log.read_text().split())
    assert len(grants) == 60
    # 60 grants of weight 2 against 40 per second: no one-second window ever holds more than 20.
    for i, ts in enumerate(grants):
        assert sum(1 for t in grants[i:] if t < ts + 1.0) <= 20
    assert grants[-1] - grants[0] >= 2.0


@pytest.mark.slow
def test_parallel_multiprocess_runs_never_exceed_the_exchange_budget(tmp_path, monkeypatch):
    """Four runs of different series, each a `dagster asset materialize` with the multiprocess
    executor, against an exchange whose budget fits about two of their steps a minute."""
    from marketdata_pipeline.config import load_config
    from marketdata_pipeline.ops.instance import project_instance
    from marketdata_pipeline.simulator import Simulator

    from ..conftest import day_key, market, write_config

    budget = 50  # one step needs 24: markets (20) + two pages of 1m candles (2 x 2)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with Simulator(weight_limit=budget) as sim:
        symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT"]
        path = write_config(
            tmp_path, sim.url, [market(s) for s in symbols], rate_limit={"weight": budget}
        )
        project_instance(load_config(path)).dispose()
        env = {**os.environ, "MARKETDATA_CONFIG": str(path)}
        runs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dagster",
                    "asset",
                    "materialize",
                    "-m",
                    "marketdata_pipeline.definitions",
                    "--select",
                    f"binance/{s.lower().replace('/', '_')}/candles_1m",
                    "--partition",
                    day_key(2),
                ],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for s in symbols
        ]
        for run in runs:
            _, err = run.communicate(timeout=400)
            assert run.returncode == 0, err[-2000:]
        stats = sim.stats()
    assert stats["klines_requests"] == 4 * 2
    assert stats["count_429"] == 0
    assert stats["max_weight_in_any_rolling_60s"] <= budget


def test_without_a_given_time_the_clock_is_now(tmp_path, monkeypatch):
    from marketdata_pipeline.config import load_config
    from marketdata_pipeline.coordination import coordination_for

    from ..conftest import market, write_config

    config = load_config(write_config(tmp_path, "http://127.0.0.1:1", [market()]))
    budget = coordination_for(config).budget("binance", weight=10, period_seconds=60)
    assert budget.path == tmp_path / ".data" / "budgets.sqlite"
    assert budget.try_take(4) == 0.0
    assert budget.used() == 4
    budget.pause(30)
    assert 29 < budget.paused_for() <= 30
    assert 29 < budget.try_take(2) <= 30
