"""The sync planner decides from the store alone which partitions a sync must run."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from marketdata_pipeline.cli.plan import plan
from marketdata_pipeline.cli.ranges import in_range, windows_of
from marketdata_pipeline.cli.support import UserError
from marketdata_pipeline.config import Series
from marketdata_pipeline.storage.schema import INDICATORS
from marketdata_pipeline.timeframes import MINUTE_MS, get_timeframe, to_ms

from ..storage.test_store import candles, store_in

SERIES = Series("binance", "BTC/USDT", get_timeframe("5m"), date(2024, 1, 1))  # month windows
JAN, FEB, MAR, APR, MAY = (to_ms(datetime(2024, m, 1, tzinfo=UTC)) for m in (1, 2, 3, 4, 5))
NOW = APR + 10 * MINUTE_MS


def fill(store, start: int, end: int, indicators: bool = True) -> None:
    frame = candles(start, (end - start) // (5 * MINUTE_MS)).with_columns(
        pl.Series("open_time", range(start, end, 5 * MINUTE_MS)).cast(pl.Datetime("ms", "UTC"))
    )
    store.write(SERIES, frame, start, end)
    if indicators:
        store.replace(
            SERIES,
            frame.select("open_time", pl.col("close").alias("rsi14")),
            start,
            end,
            INDICATORS,
        )


def test_windows_run_from_the_start_window_to_the_one_in_progress():
    assert windows_of(SERIES, NOW) == [(JAN, FEB), (FEB, MAR), (MAR, APR), (APR, MAY)]


def test_a_complete_range_needs_no_run(tmp_path):
    store = store_in(tmp_path)
    fill(store, JAN, APR)
    assert plan(store, SERIES, JAN, APR, NOW, 0).first is None


def test_missing_candles_run_their_partition_and_the_next_whose_warmup_they_change(tmp_path):
    store = store_in(tmp_path)
    fill(store, FEB, APR)  # February and March, not January
    done = plan(store, SERIES, JAN, FEB, NOW, 0)
    assert (done.first, done.last, done.fetch) == ("2024-01-01", "2024-02-01", True)


def test_missing_indicator_rows_run_their_partition_without_fetching(tmp_path):
    store = store_in(tmp_path)
    fill(store, JAN, MAR)
    fill(store, MAR, APR, indicators=False)
    done = plan(store, SERIES, JAN, MAR, NOW, 0)  # March is the warm-up's reach of February
    assert (done.first, done.last, done.fetch) == ("2024-03-01", "2024-03-01", False)


def test_a_range_before_the_series_meets_nothing():
    with pytest.raises(UserError, match="nothing to sync: binance BTC/USDT 5m starts 2024-01-01"):
        in_range([SERIES], to_ms(datetime(2023, 1, 1, tzinfo=UTC)), JAN, NOW)
    assert in_range([SERIES], JAN, FEB, NOW) == [SERIES]
