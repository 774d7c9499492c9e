"""Retries at the ccxt boundary: permanent errors fail at once, temporary ones back off, and a
429 holds every process of the connector. Counted request by request against the simulator."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys

import pytest

from marketdata_pipeline.coordination.sqlite_budget import SqliteBudget as RequestBudget
from marketdata_pipeline.exchange.errors import FetchError
from marketdata_pipeline.simulator import Faults

from ..conftest import day_ms
from .test_client_answers import M, client, describe, fetch


@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        ("auth", 'binance {"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'),
        ("bad_request", 'binance {"code":-1100,"msg":"Illegal characters found in a parameter."}'),
    ],
)
def test_permanent_errors_fail_at_once_without_retries(tmp_path, simulator, kind, cause):
    simulator.set_faults(Faults(reject=kind))
    with pytest.raises(FetchError) as failure:
        asyncio.run(client(tmp_path, simulator, max_retries=5).__aenter__())
    assert str(failure.value) == f"binance load markets: {cause}"
    assert simulator.stats()["requests"] == 1
    simulator.set_faults(Faults())
    simulator.reset_stats()
    day = day_ms(3)
    error, stats, pages = fetch(
        tmp_path, simulator, (day, day + 10 * M), faults=Faults(reject=kind), max_retries=5
    )
    assert str(error) == f"binance {describe(day, day + 10 * M)}: {cause}"
    assert (stats.requests, stats.retries, pages) == (2, 0, 1)


def test_a_429_pauses_the_connector_in_every_process_for_its_retry_after(tmp_path, simulator):
    """The request gives up (no retries left), yet another process must still hold off."""
    simulator.set_faults(Faults(storm_rate=1.0, storm_retry_after_s=30))
    with pytest.raises(FetchError, match="gave up after 1 attempts: DDoSProtection: binance 429"):
        asyncio.run(client(tmp_path, simulator, max_retries=0).__aenter__())
    assert simulator.stats()["count_429"] == 1
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from marketdata_pipeline.coordination.sqlite_budget import SqliteBudget; "
            "print(SqliteBudget(sys.argv[1], 'binance', 6000, 60).try_take(2))",
            str(tmp_path / "budgets.sqlite"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert 25 < float(other.stdout) <= 30  # the rest of the exchange's Retry-After


@pytest.mark.parametrize(("base", "low", "high"), [(20, 9, 30), (0.001, 0, 0.0015)])
def test_a_429_without_retry_after_pauses_for_the_backoff(tmp_path, simulator, base, low, high):
    """The first backoff: the base, jittered by up to 50% (a 1 ms pause is over at once)."""
    simulator.set_faults(Faults(storm_rate=1.0, storm_retry_after_s=0))
    with pytest.raises(FetchError, match="gave up after 1 attempts: DDoSProtection: binance 429"):
        asyncio.run(client(tmp_path, simulator, backoff_base=base, max_retries=0).__aenter__())
    budget = RequestBudget(tmp_path / "budgets.sqlite", "binance", 6000, 60)
    assert low <= budget.paused_for() <= high


def test_a_retry_after_a_429_waits_in_the_shared_budget_not_in_a_local_sleep(tmp_path, simulator):
    day = day_ms(3)
    faults = Faults(storm_rate=1.0, storm_retry_after_s=1)
    error, stats, _ = fetch(tmp_path, simulator, (day, day + 10 * M), faults=faults, max_retries=2)
    assert "gave up after 3 attempts: DDoSProtection: binance 429" in str(error)
    assert (stats.requests, stats.retries, simulator.stats()["count_429"]) == (4, 2, 3)
    assert stats.seconds_backing_off == 0
    # Both retries wait out the Retry-After through the budget, and the waits add up.
    assert 1.5 < stats.seconds_waited <= 2.0


def test_backoff_doubles_with_each_attempt_and_jitters_by_half(tmp_path, simulator):
    """Four failed attempts before the fifth: 1, 2, 4 and 8 times the base, each times 0.5 to
    1.5 from the random module (seeded here, so the total is known)."""
    day = day_ms(3)
    random.seed(11)
    jitter = [0.5 + random.random() for _ in range(4)]
    random.seed(11)
    error, stats, pages = fetch(
        tmp_path,
        simulator,
        (day, day + 10 * M),
        faults=Faults(error_rate=1.0),
        backoff_base=0.01,
        max_retries=4,
    )
    assert "gave up after 5 attempts" in str(error)
    assert (stats.retries, pages) == (4, 5)
    expected = sum(0.01 * 2**k * j for k, j in enumerate(jitter))
    assert stats.seconds_backing_off == pytest.approx(expected, rel=1e-9)
