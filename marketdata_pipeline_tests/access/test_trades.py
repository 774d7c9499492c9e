"""Pages of trades: a cursor of time and id, so trades sharing a millisecond are never lost."""

from __future__ import annotations

import pytest

from marketdata_pipeline.access.trades import TradeCursor, read_trade_page, trade_series
from marketdata_pipeline.storage.store import store_for

from ..conftest import day_key, day_ms
from .test_market_data import traded

__all__ = ["traded"]
DAY2 = day_key(2)


def pages(project, limit: int, start_ms=None, end_ms=None, after=None):
    """Every page of [start, end) from `after` on: (ids, cursor text) per page."""
    store, series = store_for(project.config), trade_series(project.config, "binance", "BTC/USDT")
    answers = []
    while True:
        frame, after = read_trade_page(store, series, start_ms, end_ms, limit, after)
        answers.append((frame["id"].to_list(), str(after) if after else None))
        if after is None:
            return answers


def test_a_page_ending_inside_a_millisecond_resumes_inside_it(traded):
    # trades 1000..1009 are the first 5 seconds, two per second sharing its millisecond
    assert pages(traded, 3, day_ms(2), day_ms(2) + 5000) == [
        ([1000, 1001, 1002], f"1002@{DAY2}T00:00:01.000Z"),
        ([1003, 1004, 1005], f"1005@{DAY2}T00:00:02.000Z"),
        ([1006, 1007, 1008], f"1008@{DAY2}T00:00:04.000Z"),
        ([1009], None),
    ]
    assert pages(traded, 5, day_ms(2), day_ms(2) + 5000) == [
        ([1000, 1001, 1002, 1003, 1004], f"1004@{DAY2}T00:00:02.000Z"),
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
    before = TradeCursor(day_ms(2), 1001)
    assert pages(traded, 10, start, end, before) == [([1002, 1003, 1004, 1005], None)]
    assert pages(traded, 10, start, end, TradeCursor(end, 1006)) == [([], None)]
    assert pages(traded, 10, start, end, TradeCursor(start, 1003)) == [([1004, 1005], None)]


@pytest.mark.parametrize("text", ["x", "12@yesterday", "@2024-01-01", "1.5@2024-01-01"])
def test_a_cursor_that_is_not_one_is_one_line(text):
    with pytest.raises(ValueError) as caught:
        TradeCursor.parse(text)
    assert str(caught.value) == (
        f"after: {text!r} is not a cursor; pass `next_after` of the previous page"
        " (`<trade id>@<ISO time>`)"
    )


def test_a_cursor_reads_back_as_itself():
    cursor = TradeCursor(1_704_067_200_123, 42)
    assert str(cursor) == "42@2024-01-01T00:00:00.123Z"
    assert TradeCursor.parse(str(cursor)) == cursor
