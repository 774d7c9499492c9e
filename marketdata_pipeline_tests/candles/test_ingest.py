"""Delta ingest of one series, through real ccxt and ArcticDB, without Dagster: what is fetched,
written, kept after a failure and reported as gaps."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date

import polars as pl
import pytest

from marketdata_pipeline.candles.delta import Stored, stored_in
from marketdata_pipeline.candles.ingest import ingest
from marketdata_pipeline.config import Series
from marketdata_pipeline.coordination import embedded
from marketdata_pipeline.exchange.errors import FetchError
from marketdata_pipeline.simulator import DEFAULT_SYMBOLS, Faults, Simulator
from marketdata_pipeline.storage.store import CandleStore
from marketdata_pipeline.timeframes import get_timeframe

from ..conftest import day_ms, exchange_candles, klines, waiting_on
from ..exchange.test_client_answers import client

M = 60_000
NOTHING = [Stored()]  # one window (days(2)), believed empty


def series(symbol: str = "BTC/USDT") -> Series:
    return Series("binance", symbol, get_timeframe("1m"), date(2020, 1, 1))


def store_in(tmp_path) -> CandleStore:
    return CandleStore(f"lmdb://{tmp_path}/adb?map_size=1GB", embedded(tmp_path))


def run(tmp_path, sim, s, windows, now, faults=None, planned=None, **settings):
    """ingest() over `windows` into a store in tmp_path; (result or error, store, client stats).
    `planned`: what the run believes each window holds (by default, what it does)."""
    store = store_in(tmp_path)

    async def go():
        async with client(tmp_path, sim, **settings) as c:
            if faults:
                sim.set_faults(faults)
            stored = stored_in(store, s, windows) if planned is None else planned
            try:
                return await ingest(s, windows, c, store, now, stored), c.stats
            except FetchError as e:
                return e, c.stats
            finally:
                sim.set_faults(Faults())

    result, stats = asyncio.run(go())
    return result, store, stats


def times(store, s) -> list[int]:
    return store.read(s)["open_time"].dt.epoch("ms").to_list()


def days(*ago: int) -> list[tuple[int, int]]:
    return [(day_ms(a), day_ms(a - 1)) for a in ago]


def test_fetches_writes_and_counts_every_closed_candle_of_the_windows(tmp_path, simulator):
    now = day_ms(2) + 90 * M + 30_000  # 01:30:30 two days ago: 90 candles closed that day
    result, store, stats = run(tmp_path, simulator, series(), days(3, 2), now)
    assert times(store, series()) == [day_ms(3) + i * M for i in range(1440 + 90)]
    assert (result.rows_written, result.rows_present, result.gaps) == (1530, 0, [])
    assert (stats.requests, klines(simulator)) == (1 + 2, 2)


def test_a_second_run_fetches_only_after_the_last_stored_candle(tmp_path, simulator):
    run(tmp_path, simulator, series(), days(2), day_ms(2) + 600 * M)
    simulator.reset_stats()
    result, store, _ = run(tmp_path, simulator, series(), days(2), day_ms(1))
    assert (result.rows_written, result.rows_present, klines(simulator)) == (840, 0, 1)
    assert times(store, series()) == [day_ms(2) + i * M for i in range(1440)]
    simulator.reset_stats()
    again, _, stats = run(tmp_path, simulator, series(), days(2), day_ms(1))
    assert (again.rows_written, stats.requests, klines(simulator)) == (0, 1, 0)  # the markets


def test_a_failure_keeps_every_chunk_written_before_it(tmp_path, simulator):
    """Chunks of one page (1000 candles); the fourth chunk's requests all fail."""
    fourth = day_ms(4) + 3000 * M
    error, store, _ = run(
        tmp_path,
        simulator,
        series(),
        days(4, 3, 2),
        day_ms(1),
        faults=Faults(error_windows=((fourth, fourth + M),)),
        pages_per_write=1,
        page_concurrency=1,
        max_retries=1,
    )
    assert isinstance(error, FetchError) and "gave up after 2 attempts" in str(error)
    assert times(store, series()) == [day_ms(4) + i * M for i in range(3000)]
    assert klines(simulator) == 3 + 2


def test_gaps_are_reported_as_they_were_served(tmp_path, simulator):
    outage = (day_ms(2) + 600 * M, day_ms(2) + 700 * M)
    result, store, _ = run(
        tmp_path, simulator, series(), days(2), day_ms(1), faults=Faults(maintenance=(outage,))
    )
    assert result.gaps == [outage]
    assert (result.rows_written, len(times(store, series()))) == (1340, 1340)


@pytest.fixture(scope="module")
def listing_simulator():
    """Markets listed two days ago: NEW/USDT at 10:00, ONE/USDT at 16:39, LATE/USDT at 20:00."""
    listings = {"NEW/USDT": 600, "ONE/USDT": 999, "LATE/USDT": 1200}
    symbols = {s: {"listing": day_ms(2) + m * M} for s, m in listings.items()}
    with Simulator(symbols={**DEFAULT_SYMBOLS, **symbols}) as sim:
        yield sim


@pytest.mark.parametrize(
    ("symbol", "gaps"),
    [
        # The first chunk ends with the first candle: a gap opening the second one is a gap.
        ("ONE/USDT", [(1000, 1020), (1260, 1270)]),
        # The first chunk is empty: the second one's start up to 20:00 is before the listing.
        ("LATE/USDT", [(1260, 1270)]),
    ],
)
def test_a_listing_is_known_from_the_first_chunk_that_has_candles(
    tmp_path, listing_simulator, symbol, gaps
):
    """Chunks of 1000 candles: [00:00, 16:40) and [16:40, 24:00); maintenance from 16:40 to
    17:00 and from 21:00 to 21:10."""
    outages = (
        (day_ms(2) + 1000 * M, day_ms(2) + 1020 * M),
        (day_ms(2) + 1260 * M, day_ms(2) + 1270 * M),
    )
    result, _, _ = run(
        tmp_path,
        listing_simulator,
        series(symbol),
        days(2),
        day_ms(0),
        faults=Faults(maintenance=outages),
        pages_per_write=1,
    )
    assert result.gaps == [(day_ms(2) + a * M, day_ms(2) + b * M) for a, b in gaps]


def test_the_time_before_a_listing_is_no_gap(tmp_path, listing_simulator):
    """Day 1 first, then day 2, when the market listed at 10:00: no gap before 10:00."""
    new = series("NEW/USDT")
    for day, written in ((1, 1440), (2, 840)):
        result, store, _ = run(tmp_path, listing_simulator, new, days(day), day_ms(0))
        assert (result.gaps, result.rows_written) == ([], written)
    assert times(store, new)[0] == day_ms(2) + 600 * M


def test_a_candle_stored_inside_the_range_is_no_proof_of_an_earlier_listing(
    tmp_path, listing_simulator
):
    """Another writer stored 12:00 to 13:00 after the run planned the whole day."""
    new = series("NEW/USDT")
    run(tmp_path, listing_simulator, new, [(day_ms(2) + 720 * M, day_ms(2) + 780 * M)], day_ms(0))
    result, _, _ = run(tmp_path, listing_simulator, new, days(2), day_ms(0), planned=NOTHING)
    assert (result.gaps, result.rows_written, result.rows_present) == ([], 780, 60)


def test_an_empty_start_after_the_first_candle_is_a_gap(tmp_path, simulator):
    run(tmp_path, simulator, series(), days(3), day_ms(2))
    outage = (day_ms(2), day_ms(2) + 100 * M)
    result, _, _ = run(
        tmp_path, simulator, series(), days(2), day_ms(1), faults=Faults(maintenance=(outage,))
    )
    assert (result.gaps, result.rows_written) == ([outage], 1340)


def test_nothing_to_fetch_asks_the_exchange_nothing(tmp_path, simulator):
    result, _, stats = run(tmp_path, simulator, series("NOPE/USDT"), days(2), day_ms(2))
    assert (result.rows_written, result.gaps, stats.requests) == (0, [], 1)  # the markets only
    error, _, _ = run(tmp_path, simulator, series("NOPE/USDT"), days(2), day_ms(1))
    assert str(error).startswith("binance does not list symbol 'NOPE/USDT'")


def test_writes_behind_another_writer_count_its_rows_and_their_waits(tmp_path, simulator):
    """Another writer stores 10 candles of each of the two chunks after the run planned, and
    holds the series lock when the first chunk is written."""
    store = store_in(tmp_path)
    theirs = exchange_candles(simulator, "BTC/USDT", "1m", day_ms(2), day_ms(1))
    theirs = theirs.with_columns(pl.col("open_time").cast(pl.Datetime("ms", "UTC")))
    for offset in (0, 1000):
        store.write(series(), theirs.slice(offset, 10), day_ms(2), day_ms(1))

    def other_writer():
        with store.lock(series()):
            held.set()
            waiting_on(tmp_path / "locks" / "binance__btc_usdt__1m.lock")
            time.sleep(0.3)

    held = threading.Event()
    writer = threading.Thread(target=other_writer)
    writer.start()
    held.wait()
    result, store, _ = run(
        tmp_path, simulator, series(), days(2), day_ms(1), planned=NOTHING, pages_per_write=1
    )
    writer.join()
    assert (result.rows_written, result.rows_present) == (1420, 20)
    assert result.lock_wait_seconds >= 0.3  # the first chunk's wait, kept beside the second's
    assert times(store, series()) == [day_ms(2) + i * M for i in range(1440)]
