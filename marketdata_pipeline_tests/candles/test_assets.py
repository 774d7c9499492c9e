"""Candle assets, materialized by real Dagster through real ccxt against the simulator."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import polars as pl

from marketdata_pipeline.coordination import embedded
from marketdata_pipeline.storage.store import CandleStore
from marketdata_pipeline.timeframes import now_ms

from ..conftest import (
    day_key,
    day_ms,
    exchange_candles,
    klines,
    market,
    metadata_of,
    run_totals,
    waiting_on,
)


def test_partition_pages_past_the_limit_and_stores_the_exchange_candles_unaltered(
    make_project, simulator
):
    project = make_project()
    series = project.series()
    result = project.materialize(series, day_key(2))
    stored = project.store.read(series)
    assert stored.height == 1440
    assert klines(simulator) == 2  # 1440 candles, 1000 a page
    expected = exchange_candles(simulator, "BTC/USDT", "1m", day_ms(2), day_ms(1))
    assert stored["open_time"].dt.epoch("ms").to_list() == expected["open_time"].to_list()
    for column in ("open", "high", "low", "close", "volume"):
        assert stored[column].to_list() == expected[column].to_list()
    assert stored["quote_volume"].null_count() == 0 and stored["trades"].min() > 0
    metadata = metadata_of(result)
    assert metadata["rows_written"] == 1440 and metadata["rows_already_present"] == 0
    assert (metadata["requests"], metadata["request_weight"], metadata["retries"]) == (3, 24, 0)


def test_rematerializing_is_idempotent_and_fetches_nothing(make_project, simulator):
    project = make_project()
    series = project.series()
    project.materialize(series, day_key(3), day_key(2))
    first = project.store.read(series)
    simulator.reset_stats()
    project.materialize(series, day_key(3), day_key(2))
    assert klines(simulator) == 0
    assert project.store.read(series).equals(first)
    assert first.height == 2 * 1440


def test_single_run_backfill_pages_across_partition_boundaries(make_project, simulator):
    project = make_project()
    series = project.series()
    project.materialize(series, day_key(5), day_key(3))
    assert klines(simulator) == 5  # 4320 candles in one run, not 2 requests per day
    assert project.store.read(series)["open_time"].is_unique().all()


def test_in_progress_candle_is_never_stored_and_today_is_kept_current(make_project, simulator):
    project = make_project([market(timeframes=["1m", "1h"])])
    for timeframe in ("1m", "1h"):
        series = project.series(timeframe=timeframe)
        before = int(time.time() * 1000)
        # Yesterday too: in the first hour of a UTC day today's 1h partition is empty (no 1h
        # candle of today has closed yet), and the newest stored candle is yesterday's 23:00.
        project.materialize(series, day_key(1), day_key(0))
        after = int(time.time() * 1000)
        settle = project.config.connectors[0].settle_seconds * 1000
        last = project.store.read(series)["open_time"].dt.epoch("ms").max()
        newest_closed = series.timeframe.floor(before - settle) - series.timeframe.ms
        assert last + series.timeframe.ms <= after - settle  # closed, and settled
        assert last >= newest_closed


def test_delta_fetch_continues_after_the_last_stored_candle(make_project, simulator):
    project = make_project()
    series = project.series()
    store = project.store
    full = exchange_candles(simulator, "BTC/USDT", "1m", day_ms(2), day_ms(1))
    head = full.head(700).with_columns(pl.col("open_time").cast(pl.Datetime("ms", "UTC")))
    store.write(series, head, day_ms(2), day_ms(1))
    simulator.reset_stats()
    result = project.materialize(series, day_key(2))
    assert klines(simulator) == 1  # the remaining 740 candles fit one page
    stored = store.read(series)
    assert stored["open_time"].dt.epoch("ms").to_list() == full["open_time"].to_list()
    metadata = metadata_of(result)
    assert metadata["rows_written"] == 740


def test_unknown_symbol_fails_its_asset_with_a_clear_error(make_project, simulator):
    project = make_project([market("NOPE/USDT")])
    result = project.materialize(project.series("NOPE/USDT"), day_key(1), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_failure_data.user_failure_data.description == (
        "binance does not list symbol 'NOPE/USDT'; fix markets[].symbol in the config"
        " (ccxt unified form, e.g. BTC/USDT)"
    )


def test_each_partition_holds_its_own_figures_and_the_run_its_totals(make_project, simulator):
    project = make_project()
    series = project.series()
    project.store.write(
        series,
        exchange_candles(
            simulator, "BTC/USDT", "1m", day_ms(3), day_ms(3) + 600 * 60_000
        ).with_columns(pl.col("open_time").cast(pl.Datetime("ms", "UTC"))),
        day_ms(3),
        day_ms(2),
    )
    simulator.reset_stats()
    result = project.materialize(series, day_key(4), day_key(2))
    partitions = {
        e.step_materialization_data.materialization.partition: {
            k: v.value for k, v in e.step_materialization_data.materialization.metadata.items()
        }
        for e in result.all_events
        if e.is_step_materialization and "candles" in e.asset_key.path[-1]
    }
    written = {key: m["rows_written"] for key, m in partitions.items()}
    assert written == {day_key(4): 1440, day_key(3): 1440 - 600, day_key(2): 1440}
    assert {m["rows_stored"] for m in partitions.values()} == {1440}
    assert partitions[day_key(3)]["first_candle"] == f"{day_key(3)}T00:00:00+00:00"
    assert "requests" not in partitions[day_key(3)]  # request figures are the run's
    totals = run_totals(project, result)
    assert totals["rows_written"] == 3 * 1440 - 600
    assert totals["requests"] == klines(simulator) + 1  # the pages and the markets


def test_a_candle_is_stored_only_settle_seconds_after_its_close(make_project):
    """Two hours of settling: the newest stored candle closed two hours before the run."""
    project = make_project(settle_seconds=7200)
    series = project.series()
    before = now_ms()
    project.materialize(series, day_key(1), day_key(0))
    after = now_ms()
    last = project.store.read(series)["open_time"].dt.epoch("ms").max()
    tf = series.timeframe
    assert tf.floor(before - 7200_000) - tf.ms <= last <= tf.floor(after - 7200_000) - tf.ms


def test_the_run_reports_its_wait_for_the_budget_and_its_requests(make_project):
    """A budget of 22 a second: markets (20) and one page (2) fit, the second page waits
    until the markets' grant leaves the 1.5 s window."""
    rate_limit = {"weight": 22, "period_seconds": 1}
    project = make_project(rate_limit=rate_limit)
    result = project.materialize(project.series(), day_key(2))
    metadata = metadata_of(result)
    assert (metadata["requests"], metadata["request_weight"], metadata["retries"]) == (3, 24, 0)
    assert 0.5 < metadata["seconds_waited_rate_limit"] <= 1.5
    assert metadata["seconds_waited_series_lock"] < 1.0
    totals = run_totals(project, result)
    assert totals["seconds_waited_rate_limit"] == metadata["seconds_waited_rate_limit"]


def test_a_run_behind_another_writer_reports_the_lock_wait_and_the_rows_already_there(
    make_project, simulator
):
    """Another writer holds the series lock while the run wants it, and stores 100 of the
    run's candles meanwhile: the run waits, then writes only the other 1340."""
    project = make_project()
    series, store = project.series(), project.store
    theirs = exchange_candles(simulator, "BTC/USDT", "1m", day_ms(2), day_ms(2) + 100 * 60_000)
    theirs = theirs.with_columns(pl.col("open_time").cast(pl.Datetime("ms", "UTC")))
    # The other writer holds the lock for its write: its store needs no lock of its own.
    other = CandleStore(store.uri, embedded(Path(store.coordination["data_dir"]) / "other"))
    held = threading.Event()

    def other_writer():
        with store.lock(series):
            held.set()
            waiting_on(
                Path(store.coordination["data_dir"]) / "locks" / "binance__btc_usdt__1m.lock"
            )
            time.sleep(0.5)
            other.write(series, theirs, day_ms(2), day_ms(1))

    writer = threading.Thread(target=other_writer)
    writer.start()
    held.wait()
    result = project.materialize(series, day_key(2))
    writer.join()
    metadata = metadata_of(result)
    assert (metadata["rows_written"], metadata["rows_already_present"]) == (1340, 100)
    assert metadata["rows_stored"] == 1440
    assert metadata["seconds_waited_series_lock"] >= 0.5
