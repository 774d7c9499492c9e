"""ArcticDB store: idempotent merges, and no lost rows under concurrent writers of one series."""

from __future__ import annotations

import multiprocessing
from datetime import date

import polars as pl

from marketdata_pipeline.config import Series
from marketdata_pipeline.coordination import embedded
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA, CANDLES, INDICATORS
from marketdata_pipeline.storage.store import CandleStore, SeriesSummary, WriteResult
from marketdata_pipeline.timeframes import DAY_MS, MINUTE_MS, get_timeframe

SERIES = Series("binance", "BTC/USDT", get_timeframe("1m"), date(2024, 1, 1))
T0 = 1_704_067_200_000  # 2024-01-01


def candles(start: int, count: int) -> pl.DataFrame:
    times = [start + i * MINUTE_MS for i in range(count)]
    return pl.DataFrame(
        {
            "open_time": times,
            **{
                c: [float(t % 997) + 1 for t in times]
                for c in ("open", "high", "low", "close", "volume")
            },
            "quote_volume": [1.5] * count,
            "trades": [7] * count,
        }
    ).cast(CANDLE_SCHEMA)


def store_in(tmp_path) -> CandleStore:
    return CandleStore(uri=f"lmdb://{tmp_path}/adb?map_size=1GB", coordination=embedded(tmp_path))


def test_round_trip_keeps_schema_and_values(tmp_path):
    store = store_in(tmp_path)
    frame = candles(T0, 100)
    result = store.write(SERIES, frame, T0, T0 + DAY_MS)
    assert (result.rows_written, result.rows_present) == (100, 0)
    assert store.read(SERIES).equals(frame)
    assert store.read(SERIES).schema == frame.schema
    assert (
        store.read(SERIES, T0 + 10 * MINUTE_MS, T0 + 20 * MINUTE_MS).height == 10
    )  # end exclusive
    summary = store.summary(SERIES)
    assert summary.rows == 100 and summary.first.value // 1_000_000 == T0


def test_writing_twice_or_overlapping_keeps_each_candle_once(tmp_path):
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 100), T0, T0 + DAY_MS)
    again = store.write(SERIES, candles(T0 + 50 * MINUTE_MS, 100), T0, T0 + DAY_MS)
    assert (again.rows_written, again.rows_present) == (50, 50)
    assert store.read(SERIES).equals(candles(T0, 150))


def test_rows_already_stored_win_over_new_values(tmp_path):
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 2000), T0, T0 + 2 * DAY_MS)
    revised = candles(T0, 3000).with_columns(pl.col("close") + 1)
    result = store.write(SERIES, revised, T0, T0 + 3 * DAY_MS)
    assert (result.rows_written, result.rows_present) == (1000, 2000)
    assert store.read(SERIES).equals(pl.concat([candles(T0, 2000), revised.tail(1000)]))


def test_write_between_existing_rows_keeps_both_sides(tmp_path):
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 10), T0, T0 + DAY_MS)
    store.write(SERIES, candles(T0 + 20 * MINUTE_MS, 10), T0, T0 + DAY_MS)
    store.write(SERIES, candles(T0 + 10 * MINUTE_MS, 10), T0 + 10 * MINUTE_MS, T0 + 20 * MINUTE_MS)
    assert store.read(SERIES).equals(candles(T0, 30))


def _write_day(tmp_path, day: int, barrier) -> None:
    store = store_in(tmp_path)
    barrier.wait()
    start = T0 + day * DAY_MS
    store.write(SERIES, candles(start, 1440), start, start + DAY_MS)


def test_concurrent_writers_of_one_series_lose_nothing(tmp_path):
    store_in(tmp_path).library()  # create the library before the race
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(8)
    workers = [spawn.Process(target=_write_day, args=(tmp_path, day, barrier)) for day in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    stored = store_in(tmp_path).read(SERIES)
    assert stored.height == 8 * 1440
    assert stored["open_time"].is_unique().all()


def _write_when_told(tmp_path, start: int, go, done) -> None:
    store = store_in(tmp_path)  # imported and opened before the parent starts the clock
    go.wait(60)
    store.write(SERIES, candles(start, 1), start, start + MINUTE_MS)
    done.set()


def test_a_long_lived_writer_merges_into_another_process_s_latest_write(tmp_path):
    """ArcticDB caches a symbol's latest version for seconds: a writer that lives on (the
    stream) must still merge into what another process wrote a moment ago."""
    spawn = multiprocessing.get_context("spawn")
    go, done = spawn.Event(), spawn.Event()
    other = spawn.Process(target=_write_when_told, args=(tmp_path, T0 + MINUTE_MS, go, done))
    other.start()
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 1), T0, T0 + MINUTE_MS)
    go.set()
    assert done.wait(60)
    store.write(SERIES, candles(T0 + 2 * MINUTE_MS, 1), T0, T0 + 3 * MINUTE_MS)
    other.join(60)
    assert store.read(SERIES)["open_time"].dt.epoch("ms").to_list() == [
        T0,
        T0 + MINUTE_MS,
        T0 + 2 * MINUTE_MS,
    ]


def test_new_candles_delete_the_indicator_rows_they_change_and_nothing_else(tmp_path):
    """Rows from the first new candle to 1000 candles after the last one; appends delete none."""
    store = store_in(tmp_path)
    before, hole, after = (
        candles(T0, 500),
        candles(T0 + 500 * MINUTE_MS, 10),
        candles(T0 + 510 * MINUTE_MS, 3000),
    )
    for frame in (before, after):
        store.write(SERIES, frame, T0, T0 + DAY_MS * 3)
    indicators = store.read(SERIES).select("open_time", pl.col("close").alias("rsi14"))
    store.replace(SERIES, indicators, T0, T0 + DAY_MS * 3, INDICATORS)
    store.write(SERIES, candles(T0 + 3510 * MINUTE_MS, 5), T0, T0 + DAY_MS * 3)  # an append
    assert store.open_times(SERIES, None, None, INDICATORS).len() == 3500
    store.write(SERIES, hole, T0, T0 + DAY_MS * 3)
    kept = store.open_times(SERIES, None, None, INDICATORS)
    # The 500 before the hole, then from the 1000th candle after the hole's last one (excluded).
    assert kept.len() == 500 + (3000 - 1000)
    assert kept.filter(kept >= T0 + 500 * MINUTE_MS).min() == T0 + (510 + 1000) * MINUTE_MS


def versions(store: CandleStore, library: str) -> int:
    return len(store.library(library).list_versions(SERIES.name))


def test_every_write_replace_and_invalidation_keeps_one_version(tmp_path):
    store = store_in(tmp_path)
    for start in (T0, T0 + 100 * MINUTE_MS, T0 + 50 * MINUTE_MS):
        store.write(SERIES, candles(start, 100), T0, T0 + DAY_MS)
    assert versions(store, CANDLES) == 1
    indicators = store.read(SERIES).select("open_time", pl.col("close").alias("rsi14"))
    for _ in range(2):
        store.replace(SERIES, indicators, T0, T0 + DAY_MS, INDICATORS)
    assert versions(store, INDICATORS) == 1
    store.replace(SERIES, indicators.clear(), T0 + 90 * MINUTE_MS, T0 + DAY_MS, INDICATORS)
    assert versions(store, INDICATORS) == 1
    store.replace(SERIES, indicators, T0, T0 + DAY_MS, INDICATORS)
    store.write(SERIES, candles(T0 - 10 * MINUTE_MS, 10), T0 - DAY_MS, T0)  # before: invalidates
    assert store.open_times(SERIES, None, None, INDICATORS).len() == 0
    assert versions(store, CANDLES) == versions(store, INDICATORS) == 1


def test_an_empty_write_and_a_missing_series_are_nothing(tmp_path):
    store = store_in(tmp_path)
    assert store.write(SERIES, candles(T0, 0), T0, T0 + DAY_MS) == WriteResult(0, 0, 0.0)
    assert store.summary(SERIES) == SeriesSummary(None, None, 0)
    assert store.read(SERIES).equals(candles(T0, 0))
    assert store.read(SERIES, library=INDICATORS).shape == (0, 0)  # no columns to claim
    nothing = store.open_times(SERIES, None, None)
    assert (nothing.name, nothing.dtype, nothing.to_list()) == ("open_time", pl.Int64, [])
    page, after = store.read_page(SERIES, None, None, 10)
    assert page.equals(candles(T0, 0)) and after is None


def test_a_summary_gives_first_last_and_rows_and_the_index_its_open_times(tmp_path):
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 30), T0, T0 + DAY_MS)
    summary = store.summary(SERIES)
    assert (summary.first_ms, summary.last_ms, summary.rows) == (T0, T0 + 29 * MINUTE_MS, 30)
    times = store.open_times(SERIES, T0 + 10 * MINUTE_MS, T0 + 13 * MINUTE_MS)
    assert (times.name, times.to_list()) == (
        "open_time",
        [T0 + i * MINUTE_MS for i in (10, 11, 12)],
    )
    assert store.open_times(SERIES, None, None, limit=2).to_list() == [T0, T0 + MINUTE_MS]


def test_pages_hold_up_to_the_limit_and_say_where_the_next_starts(tmp_path):
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 25), T0, T0 + DAY_MS)
    first, after = store.read_page(SERIES, T0 + MINUTE_MS, T0 + DAY_MS, 10)
    assert first.equals(candles(T0 + MINUTE_MS, 10)) and after == T0 + 10 * MINUTE_MS
    second, after = store.read_page(SERIES, after + MINUTE_MS, T0 + DAY_MS, 10)
    assert second.equals(candles(T0 + 11 * MINUTE_MS, 10)) and after == T0 + 20 * MINUTE_MS
    last, after = store.read_page(SERIES, after + MINUTE_MS, T0 + DAY_MS, 10)
    assert last.equals(candles(T0 + 21 * MINUTE_MS, 4)) and after is None
    exact, after = store.read_page(SERIES, T0, T0 + 10 * MINUTE_MS, 10)  # the end is exclusive
    assert exact.equals(candles(T0, 10)) and after is None
    short, after = store.read_page(SERIES, T0 + MINUTE_MS, T0 + 4 * MINUTE_MS, 10)
    assert short.equals(candles(T0 + MINUTE_MS, 3)) and after is None  # none after the end
    indicators = store.read(SERIES).select("open_time", pl.col("close").alias("rsi14"))
    store.replace(SERIES, indicators, T0, T0 + DAY_MS, INDICATORS)
    page, after = store.read_page(SERIES, T0, None, 3, INDICATORS)
    assert page.equals(indicators.head(3)) and after == T0 + 2 * MINUTE_MS
    one, after = store.read_page(SERIES, T0, None, 1)
    assert one.equals(candles(T0, 1)) and after == T0


def test_replace_makes_exactly_its_range_the_frame(tmp_path):
    store = store_in(tmp_path)
    store.replace(SERIES, pl.DataFrame(), T0, T0 + DAY_MS, INDICATORS)  # nothing stored yet
    frame = candles(T0, 3 * 1440).select("open_time", pl.col("close").alias("rsi14"))
    store.replace(SERIES, frame, T0, T0 + 3 * DAY_MS, INDICATORS)
    day2 = frame.filter(pl.col("open_time").dt.epoch("ms") >= T0 + DAY_MS).head(1440)
    recomputed = day2.with_columns(pl.col("rsi14") * 2)
    store.replace(SERIES, recomputed, T0 + DAY_MS, T0 + 2 * DAY_MS, INDICATORS)
    assert store.read(SERIES, library=INDICATORS).equals(
        pl.concat([frame.head(1440), recomputed, frame.tail(1440)])
    )
    shorter = recomputed.head(600)  # the rest of the range had no value this time
    store.replace(SERIES, shorter, T0 + DAY_MS, T0 + 2 * DAY_MS, INDICATORS)
    assert store.read(SERIES, library=INDICATORS).equals(
        pl.concat([frame.head(1440), shorter, frame.tail(1440)])
    )
    store.replace(SERIES, frame.clear(), T0 + DAY_MS, T0 + 2 * DAY_MS, INDICATORS)
    assert store.read(SERIES, library=INDICATORS).equals(
        pl.concat([frame.head(1440), frame.tail(1440)])
    )


def test_the_project_store_keeps_data_and_locks_beside_the_config(tmp_path):
    from marketdata_pipeline.config import load_config
    from marketdata_pipeline.storage.store import store_for

    from ..conftest import market, write_config

    config = load_config(write_config(tmp_path, "http://127.0.0.1:1", [market()]))
    store = store_for(config)
    assert store.uri == config.storage_uri
    assert store.coordination == embedded(tmp_path / ".data")
    with store.lock(SERIES) as hold:
        assert hold.waited < 1.0
        assert (tmp_path / ".data" / "locks" / "binance__btc_usdt__1m.lock").exists()


def test_trades_may_be_missing_after_being_there(tmp_path):
    """An exchange without trade counts after one with them: one column, nulls where missing."""
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 2), T0, T0 + DAY_MS)
    later = candles(T0 + 2 * MINUTE_MS, 2).with_columns(pl.lit(None, pl.Int64).alias("trades"))
    store.write(SERIES, later, T0, T0 + DAY_MS)
    assert store.read(SERIES)["trades"].to_list() == [7, 7, None, None]


def mapped_store_pages_kb(folder) -> int:
    """Resident KB of the store's LMDB files mapped into this process."""
    resident, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            if not line[0].isupper():  # a mapping's first line: address range ... path
                inside = str(folder) in line and line.rstrip().endswith(".mdb")
            elif inside and line.startswith("Rss:"):
                resident += int(line.split()[1])
    return resident


def test_writes_and_large_reads_hand_back_the_store_pages_they_mapped(tmp_path):
    """LMDB's mapped pages are dropped after a write and after a read of a window's size (what
    ArcticDB's own read keeps shows the release is real), and mapped again when needed."""
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 100_000), T0, T0 + 10**10)
    store.library(CANDLES).read(SERIES.name)
    assert mapped_store_pages_kb(tmp_path) > 500
    store.write(SERIES, candles(T0 + 100_000 * MINUTE_MS, 10), T0, T0 + 10**10)
    assert mapped_store_pages_kb(tmp_path) < 50
    store.library(CANDLES).read(SERIES.name)
    assert store.read(SERIES).height == 100_010
    assert mapped_store_pages_kb(tmp_path) < 50
    store.library(CANDLES).read(SERIES.name)
    assert store.open_times(SERIES, None, None).len() == 100_010
    assert mapped_store_pages_kb(tmp_path) < 50
