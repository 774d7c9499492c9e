"""Pages after a cursor: of time and id for trades, so trades sharing a millisecond are never
lost; of time alone for snapshots, unique on their receive time."""

from __future__ import annotations

import pytest

from marketdata_pipeline.access.markets import market_series
from marketdata_pipeline.access.pages import Cursor, read_page
from marketdata_pipeline.storage.schema import LIBRARY_OF, TRADES
from marketdata_pipeline.storage.store import store_for

from ..conftest import day_key, day_ms
from .test_books import booked
from .test_market_data import traded

__all__ = ["booked", "traded"]


def pages(project, limit: int, start_ms=None, end_ms=None, after=None):
    """Every page of [start, end) from `after` on: (ids, cursor text) per page."""
    store = store_for(project.config)
    series = market_series(project.config, "binance", "BTC/USDT", "trades")
    answers = []
    while True:
        frame, after = read_page(store, series, TRADES, start_ms, end_ms, limit, after)
        answers.append((frame["id"].to_list(), str(after) if after else None))
        if after is None:
            return answers


def test_a_page_ending_inside_a_millisecond_resumes_inside_it(traded):
    # trades 1000..1009 are the first 5 seconds, two per second sharing its millisecond
    assert pages(traded, 3, day_ms(2), day_ms(2) + 5000) == [
        ([1000, 1001, 1002], f"1002@{day_key(2)}T00:00:01.000Z"),
        ([1003, 1004, 1005], f"1005@{day_key(2)}T00:00:02.000Z"),
        ([1006, 1007, 1008], f"1008@{day_key(2)}T00:00:04.000Z"),
        ([1009], None),
    ]
    assert pages(traded, 5, day_ms(2), day_ms(2) + 5000) == [
        ([1000, 1001, 1002, 1003, 1004], f"1004@{day_key(2)}T00:00:02.000Z"),
        ([1005, 1006, 1007, 1008, 1009], None),
    ]


def test_pages_cover_a_whole_history_once(traded):
    answers = pages(traded, 10_000)
    ids = [i for page, _ in answers for i in page]
    assert [len(page) for page, _ in answers] == [10_000, 10_000, 1480]
    assert ids == [
        i for i in range(1000, 1000 + 3 * 7200) if not 19_000 <= i < 19_120
    ]  # none at 02:30


def test_a_cursor_outside_the_range_reads_the_range(traded):
    start, end = day_ms(2) + 1000, day_ms(2) + 3000
    before = Cursor(day_ms(2), 1001)
    assert pages(traded, 10, start, end, before) == [([1002, 1003, 1004, 1005], None)]
    assert pages(traded, 10, start, end, Cursor(end, 1006)) == [([], None)]
    assert pages(traded, 10, start, end, Cursor(start, 1003)) == [([1004, 1005], None)]


@pytest.mark.parametrize("text", ["x", "12@yesterday", "@2024-01-01", "1.5@2024-01-01"])
def test_a_cursor_that_is_not_one_is_one_line(text):
    with pytest.raises(ValueError) as caught:
        Cursor.parse(text, keyed=True)
    assert str(caught.value) == (
        f"after: {text!r} is not a cursor; pass `next_after` of the previous page"
        " (`<trade id>@<ISO time>`)"
    )


def test_a_cursor_reads_back_as_itself():
    cursor = Cursor(1_704_067_200_123, 42)
    assert str(cursor) == "42@2024-01-01T00:00:00.123Z"
    assert Cursor.parse(str(cursor), keyed=True) == cursor


def snapshot_pages(project, data: str, limit: int, start_ms=None, after=None):
    """Every page of a market's snapshots: (update ids or receive ms, cursor text) per page."""
    store = store_for(project.config)
    series = market_series(project.config, "binance", "BTC/USDT", data)
    answers = []
    while True:
        frame, after = read_page(store, series, LIBRARY_OF[data], start_ms, None, limit, after)
        times = frame["local_timestamp"].dt.epoch("ms") - day_ms(2)
        answers.append((times.to_list(), str(after) if after else None))
        if after is None:
            return answers


def test_snapshot_pages_follow_the_receive_time(booked):
    assert snapshot_pages(booked, "order_book", 5) == [
        ([7, 10_007, 20_007, 30_007, 40_007], f"{day_key(2)}T00:00:40.007Z"),
        ([50_007, 60_007, 70_007, 80_007, 90_007], f"{day_key(2)}T00:01:30.007Z"),
        ([100_007, 110_007], None),
    ]
    assert snapshot_pages(booked, "ticker", 12, day_ms(2) + 100_000) == [([100_007, 110_007], None)]
    resumed = Cursor.parse(f"{day_key(2)}T00:01:30.007Z", keyed=False)
    assert snapshot_pages(booked, "ticker", 1, after=resumed) == [
        ([100_007], f"{day_key(2)}T00:01:40.007Z"),
        ([110_007], None),
    ]


@pytest.mark.parametrize("text", ["x", "7@2024-01-01T00:00:00.123Z", "2024-02-30"])
def test_a_snapshot_cursor_is_a_time(text):
    with pytest.raises(ValueError) as caught:
        Cursor.parse(text, keyed=False)
    assert str(caught.value) == (
        f"after: {text!r} is not a cursor; pass `next_after` of the previous page (an ISO time)"
    )
