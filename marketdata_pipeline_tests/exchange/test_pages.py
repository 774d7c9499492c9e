"""The page cleaner: a raw page becomes sorted, unique candles of its range, or is refused."""

from __future__ import annotations

import numpy as np
import pytest

from marketdata_pipeline.exchange.errors import MalformedPage
from marketdata_pipeline.exchange.pages import as_candles, clean_page
from marketdata_pipeline.exchange.quirks import RAW_KLINES
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA

M = 60_000


def row(t: int, close: float = 1.0) -> list:
    """A unified ccxt row: open time, open, high, low, close, volume."""
    return [t, 1.0, 2.0, 0.5, close, 10.0]


def test_duplicates_keep_the_first_served_in_a_long_shuffled_page():
    rng = np.random.default_rng(5)
    served = [row(t * M, close=float(i)) for i, t in enumerate(rng.integers(0, 500, 2000))]
    page, _ = clean_page(served, 0, 500 * M)
    first = {}
    for r in served:
        first.setdefault(r[0], r[4])
    assert page[:, 0].tolist() == sorted(first)
    assert page[:, 4].tolist() == [first[t] for t in sorted(first)]


def test_a_row_at_the_range_end_is_beyond_it():
    page, beyond = clean_page([row(2 * M)], 0, 2 * M)
    assert (len(page), beyond) == (0, True)


def test_duplicates_keep_the_first_served_and_order_is_restored():
    raw = [row(2 * M, 20.0), row(0), row(M, 10.0), row(2 * M, 99.0), row(M, 98.0)]
    page, beyond = clean_page(raw, 0, 10 * M)
    assert page[:, 0].tolist() == [0, M, 2 * M]
    assert page[:, 4].tolist() == [1.0, 10.0, 20.0]  # the first row served of each open time
    assert beyond is False


def test_rows_outside_the_range_are_dropped_and_a_row_at_its_end_says_beyond():
    raw = [row(t) for t in (-M, 0, M, 2 * M, 3 * M)]
    page, beyond = clean_page(raw, 0, 2 * M)
    assert page[:, 0].tolist() == [0, M] and beyond is True
    page, beyond = clean_page(raw[:3], 0, 2 * M)
    assert page[:, 0].tolist() == [0, M] and beyond is False


def test_missing_extras_are_null_and_raw_klines_keep_quote_volume_and_trades():
    page, _ = clean_page([row(0)], 0, M)
    assert page.shape == (1, len(CANDLE_SCHEMA)) and np.isnan(page[0, 6:]).all()
    binance = RAW_KLINES["binance"].columns
    raw = [[0, "1.5", "2", "1", "1.75", "3", M - 1, "4.5", 17, "1", "2", "0"]]
    page, _ = clean_page(raw, 0, M, binance)
    assert page.tolist() == [[0, 1.5, 2.0, 1.0, 1.75, 3.0, 4.5, 17.0]]
    frame = as_candles([page])
    assert frame.schema == CANDLE_SCHEMA and frame["trades"].to_list() == [17]


def test_an_empty_page_is_empty_and_not_beyond():
    page, beyond = clean_page([], 0, M)
    assert page.shape == (0, len(CANDLE_SCHEMA)) and beyond is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"code": -1}, "page is not a list of candle rows"),
        ([row(0), "x"], "page is not a list of candle rows"),
        ([row(0), [M, 1.0, None, 1.0, 1.0, 1.0]], "a candle has a missing or non-finite value"),
        (
            [row(0), [M, 1.0, float("nan"), 1.0, 1.0, 1.0]],
            "a candle has a missing or non-finite value",
        ),
        (
            [row(0), [M, 1.0, float("inf"), 1.0, 1.0, 1.0]],
            "a candle has a missing or non-finite value",
        ),
        ([row(0), [M, 1.0]], "unreadable candles: list index out of range"),
        (
            [row(0), [M, "abc", 1.0, 1.0, 1.0, 1.0]],
            "unreadable candles: could not convert string to float: 'abc'",
        ),
    ],
)
def test_one_bad_row_makes_the_whole_page_malformed(raw, message):
    with pytest.raises(MalformedPage) as refused:
        clean_page(raw, 0, 10 * M)
    assert str(refused.value) == message


def test_rows_of_different_lengths_are_read_by_their_columns():
    """Exchanges append fields over time: a longer row next to a shorter one is still clean."""
    raw = [
        [0, "1", "2", "0.5", "1.5", "3", M - 1, "4", 5],
        [M, "1", "2", "0.5", "1.5", "3", 2 * M - 1, "4", 5, "extra"],
    ]
    page, _ = clean_page(raw, 0, 2 * M, RAW_KLINES["binance"].columns)
    assert page.tolist() == [[0, 1, 2, 0.5, 1.5, 3, 4, 5], [M, 1, 2, 0.5, 1.5, 3, 4, 5]]
    unified, _ = clean_page([row(0), [*row(M), 7]], 0, 2 * M)
    assert unified[:, 0].tolist() == [0, M]


def test_pages_stack_into_one_frame_in_the_stored_schema():
    first, _ = clean_page([row(0, 1.0), row(M, 2.0)], 0, 2 * M)
    second, _ = clean_page([row(2 * M, 3.0)], 2 * M, 3 * M)
    frame = as_candles([first, second])
    assert frame.schema == CANDLE_SCHEMA
    assert frame["open_time"].dt.epoch("ms").to_list() == [0, M, 2 * M]
    assert frame["close"].to_list() == [1.0, 2.0, 3.0]
    assert frame["quote_volume"].null_count() == 3
    assert as_candles([]).schema == CANDLE_SCHEMA and as_candles([]).is_empty()
