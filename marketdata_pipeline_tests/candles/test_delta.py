"""Delta planning: which ranges a run still has to fetch."""

from datetime import date

import polars as pl

from marketdata_pipeline.candles.delta import Stored, chunks, delta_ranges
from marketdata_pipeline.config import Series
from marketdata_pipeline.timeframes import DAY_MS, MINUTE_MS, get_timeframe

SERIES = Series("binance", "BTC/USDT", get_timeframe("1m"), date(1970, 1, 2))
D1, D2, D3, D4 = (DAY_MS * i for i in (1, 2, 3, 4))


def stored(*times: int) -> pl.Series:
    return pl.Series("open_time", list(times), dtype=pl.Int64)


def delta(series, windows, times: pl.Series, closed_until):
    """delta_ranges given the open times stored, summarised per window as the asset does."""
    held = []
    for lo, hi in windows:
        inside = times.filter((times >= lo) & (times < hi))
        held.append(Stored(inside.len(), inside.min(), inside.max()) if inside.len() else Stored())
    return delta_ranges(series, windows, held, closed_until)


def test_empty_store_fetches_whole_windows_merged():
    assert delta(SERIES, [(D1, D2), (D2, D3)], stored(), D4) == [(D1, D3)]


def test_fetches_only_after_the_last_stored_candle_of_each_window():
    have = stored(D1, D1 + MINUTE_MS, D2 + 5 * MINUTE_MS)
    assert delta(SERIES, [(D1, D2), (D2, D3)], have, D4) == [
        (D1 + 2 * MINUTE_MS, D2),
        (D2 + 6 * MINUTE_MS, D3),
    ]


def test_a_window_owns_its_first_candle_and_not_the_next_window_s():
    assert delta(SERIES, [(D1, D2)], stored(D1), D4) == [(D1 + MINUTE_MS, D2)]
    assert delta(SERIES, [(D1, D2)], stored(D2), D4) == [(D1, D2)]


def test_complete_windows_need_nothing():
    assert delta(SERIES, [(D1, D2)], stored(D2 - MINUTE_MS), D4) == []


def test_never_asks_for_the_candle_in_progress_or_before_the_market_start():
    assert delta(SERIES, [(0, D1), (D1, D2)], stored(), D1 + 90 * MINUTE_MS) == [
        (D1, D1 + 90 * MINUTE_MS)
    ]


def test_weekly_candles_start_on_the_first_monday_of_a_window():
    weekly = Series("binance", "BTC/USDT", get_timeframe("1w"), date(1970, 1, 1))
    assert delta(weekly, [(0, 30 * DAY_MS)], stored(), 60 * DAY_MS) == [(4 * DAY_MS, 30 * DAY_MS)]


def test_chunks_split_long_ranges():
    assert chunks([(0, 25), (30, 35)], 10) == [(0, 10), (10, 20), (20, 25), (30, 35)]
