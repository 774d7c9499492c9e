"""The shared request budget: a rolling window that holds across processes."""

import asyncio
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from marketdata_pipeline.exchange.budget import RequestBudget


def test_rolling_window_admits_up_to_the_budget_then_says_how_long_to_wait(tmp_path):
    budget = RequestBudget(tmp_path / "b.sqlite", "binance", weight=10, period_seconds=60)
    window = budget.window
    assert [budget.try_take(2, now=100.0 + i) for i in range(5)] == [0.0] * 5
    assert budget.try_take(2, now=110.0) == pytest.approx(100.0 + window - 110.0)
    assert budget.try_take(2, now=100.0 + window + 0.01) == 0.0  # the first grant expired
    assert budget.used(now=100.0 + window + 0.01) == 10


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
