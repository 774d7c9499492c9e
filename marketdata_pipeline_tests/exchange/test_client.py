"""Resilience at the ccxt boundary: faults are retried to identical data, never skipped."""

from __future__ import annotations

import asyncio

import polars as pl
import pytest

from marketdata_pipeline.exchange.errors import FetchError
from marketdata_pipeline.simulator import Faults

from ..conftest import day_key, day_ms, exchange_candles, klines, market, metadata_of, run_totals

MINUTE = 60_000


def stored_equals_exchange(project, simulator, first_day: int, last_day: int) -> None:
    stored = project.store.read(project.series())
    expected = exchange_candles(
        simulator, "BTC/USDT", "1m", day_ms(first_day), day_ms(last_day - 1)
    )
    assert stored["open_time"].dt.epoch("ms").to_list() == expected["open_time"].to_list()
    for column in ("open", "high", "low", "close", "volume"):
        assert stored[column].to_list() == expected[column].to_list()


def test_backfill_through_5xx_drops_malformed_bodies_and_429s_equals_a_clean_run(
    make_project, simulator
):
    project = make_project(pages_per_write=4)
    simulator.set_faults(
        Faults(
            error_rate=0.10,
            drop_rate=0.02,
            malformed_rate=0.02,
            storm_rate=0.03,
            storm_retry_after_s=1,
            seed=7,
        )
    )
    result = project.materialize(project.series(), day_key(30), day_key(1))
    stats = simulator.stats()
    simulator.set_faults(Faults())
    stored_equals_exchange(project, simulator, 30, 1)
    totals = run_totals(project, result)
    assert totals["rows_written"] == 30 * 1440
    # Each request is counted; aiohttp resends one whose kept-alive connection was dropped.
    drops = stats["faults_injected"].get("drop", 0)
    assert 0 <= stats["requests"] - totals["requests"] <= drops
    # Every error answer (5xx, 429) failed its attempt, and every failed attempt was retried.
    errors = sum(n for status, n in stats["status_counts"].items() if str(status)[0] in "45")
    assert errors > 0 and totals["retries"] >= errors


def test_duplicated_and_out_of_order_candles_are_cleaned(make_project, simulator):
    """Every page served with a duplicated, out-of-order row: none of them reaches the store
    (the store would count it among the rows already present)."""
    project = make_project()
    simulator.set_faults(Faults(duplicate_rate=1.0, seed=3))
    result = project.materialize(project.series(), day_key(2))
    assert simulator.stats()["faults_injected"]["duplicate"] == 2
    simulator.set_faults(Faults())
    stored_equals_exchange(project, simulator, 2, 2)
    metadata = metadata_of(result)
    assert (metadata["rows_written"], metadata["rows_already_present"]) == (1440, 0)
    # The duplicate pushes the 1000th candle off the first page: one more page fetches it.
    assert (metadata["requests"], metadata["retries"]) == (1 + 3, 0)


def test_maintenance_gaps_are_stored_as_gaps_and_reported(make_project, simulator):
    project = make_project()
    outage = (day_ms(2) + 600 * MINUTE, day_ms(2) + 700 * MINUTE)
    simulator.set_faults(Faults(maintenance=(outage,)))
    result = project.materialize(project.series(), day_key(2))
    stored = project.store.read(project.series())["open_time"].dt.epoch("ms")
    assert stored.len() == 1440 - 100
    assert stored.filter((stored >= outage[0]) & (stored < outage[1])).len() == 0
    metadata = metadata_of(result)
    assert metadata["missing_candles"] == 100
    assert "10:00:00+00:00 to" in metadata["gaps"] and "11:40:00+00:00" in metadata["gaps"]


def test_a_failure_mid_range_keeps_what_was_written_and_the_next_run_resumes(
    make_project, simulator
):
    """Three days in chunks of 1000 candles; the exchange fails every request for the fourth
    chunk. The three before it stay stored, and the next run fetches only the last two."""
    project = make_project(pages_per_write=1, page_concurrency=1, max_retries=1)
    series = project.series()
    fourth = day_ms(4) + 3000 * MINUTE
    simulator.set_faults(Faults(error_windows=((fourth, fourth + MINUTE),)))
    result = project.materialize(series, day_key(4), day_key(2), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith(
        f"binance binance/btc_usdt/1m [{day_key(2)} 02:00, {day_key(2)} 18:40): gave up after"
        " 2 attempts: ExchangeNotAvailable: "
    )
    stored = project.store.read(series)["open_time"].dt.epoch("ms")
    assert stored.to_list() == [day_ms(4) + i * MINUTE for i in range(3000)]
    assert klines(simulator) == 3 + 2  # three chunks, then the failing one twice
    simulator.set_faults(Faults())
    simulator.reset_stats()
    resumed = project.materialize(series, day_key(4), day_key(2))
    assert klines(simulator) == 2  # [02:00, 18:40) and [18:40, 24:00) of the last day
    assert run_totals(project, resumed)["rows_written"] == 3 * 1440 - 3000
    stored_equals_exchange(project, simulator, 4, 2)


def test_failure_mid_range_names_exchange_series_range_and_cause(make_project, simulator):
    project = make_project(max_retries=1)
    series = project.series()

    async def fetch():
        async with project.defs.resources["exchange_binance"].client() as client:
            simulator.set_faults(Faults(malformed_rate=1.0))
            await client.fetch_range(series, day_ms(2), day_ms(2) + 500 * MINUTE)

    with pytest.raises(FetchError) as failure:
        asyncio.run(fetch())
    assert str(failure.value).startswith(
        f"binance binance/btc_usdt/1m [{day_key(2)} 00:00, {day_key(2)} 08:20): gave up after 2 attempts: "
    )


def test_unknown_symbol_fails_fast_without_klines_requests(make_project, simulator):
    project = make_project([market("NOPE/USDT")])
    result = project.materialize(project.series("NOPE/USDT"), day_key(1), raise_on_error=False)
    assert not result.success and klines(simulator) == 0


def test_empty_page_inside_a_range_is_not_the_end_of_the_data(make_project, simulator):
    """ccxt turns some malformed bodies into []: the probe tells them from a real gap."""
    project = make_project(pages_per_write=1)
    simulator.set_faults(Faults(malformed_rate=0.3, seed=11))
    project.materialize(project.series(), day_key(4), day_key(2))
    simulator.set_faults(Faults())
    stored = project.store.read(project.series())
    assert stored.height == 3 * 1440
    assert stored.filter(pl.col("open_time").dt.epoch("ms") >= day_ms(2)).height == 1440
