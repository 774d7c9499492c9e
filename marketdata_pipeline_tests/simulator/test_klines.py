"""Pure paging semantics of /api/v3/klines (the HTTP path is covered in test_server.py)."""

import json

from marketdata_pipeline.simulator.intervals import INTERVALS
from marketdata_pipeline.simulator.klines import format_rows, select_klines
from marketdata_pipeline.simulator.symbols import make_specs

from .conftest import DAY, HOUR, MINUTE, NOW_MS

SPEC = make_specs()["BTCUSDT"]
M1, H1 = INTERVALS["1m"], INTERVALS["1h"]


def test_start_time_rounds_up_to_next_open() -> None:
    page = select_klines(SPEC, M1, NOW_MS - HOUR + 1, None, 5, NOW_MS)
    assert page.time.tolist()[0] == (NOW_MS - HOUR) // MINUTE * MINUTE + MINUTE
    assert len(page) == 5


def test_start_and_end_bound_the_page() -> None:
    start = NOW_MS // HOUR * HOUR - 10 * HOUR
    page = select_klines(SPEC, M1, start, start + 9 * MINUTE, 1000, NOW_MS)
    assert page.time.tolist() == [start + i * MINUTE for i in range(10)]


def test_only_end_time_returns_last_candles_before_it() -> None:
    end = NOW_MS - DAY + 123
    page = select_klines(SPEC, H1, None, end, 4, NOW_MS)
    assert page.time.tolist()[-1] == end // HOUR * HOUR
    assert len(page) == 4


def test_neither_returns_latest_including_open_candle() -> None:
    page = select_klines(SPEC, H1, None, None, 3, NOW_MS)
    assert page.time.tolist()[-1] == NOW_MS // HOUR * HOUR
    assert select_klines(SPEC, M1, None, None, 1, NOW_MS).time.tolist() == [
        NOW_MS // MINUTE * MINUTE
    ]


def test_never_in_the_future_and_never_before_listing() -> None:
    assert len(select_klines(SPEC, M1, NOW_MS + MINUTE, None, 10, NOW_MS)) == 0
    page = select_klines(SPEC, M1, 0, None, 3, NOW_MS)
    assert page.time.tolist()[0] == SPEC.listing_ms
    assert len(select_klines(SPEC, M1, None, SPEC.listing_ms - 1, 10, NOW_MS)) == 0


def test_gaps_are_skipped_but_page_is_filled() -> None:
    start = NOW_MS // HOUR * HOUR - 30 * HOUR
    gaps = ((start + 2 * MINUTE, start + 2 * HOUR),)
    page = select_klines(SPEC, M1, start, None, 1000, NOW_MS, gaps)
    times = page.time.tolist()
    assert len(times) == 1000
    assert times[:3] == [start, start + MINUTE, start + 2 * HOUR]
    before = select_klines(SPEC, M1, None, start + 2 * HOUR - 1, 5, NOW_MS, gaps)
    assert before.time.tolist() == [start - 3 * MINUTE + i * MINUTE for i in range(5)]


def test_row_format_is_binance_and_round_trips() -> None:
    page = select_klines(SPEC, INTERVALS["1M"], None, None, 2, NOW_MS)
    rows = [json.loads(r) for r in format_rows(SPEC, INTERVALS["1M"], page)]
    first = rows[0]
    assert len(first) == 12 and first[-1] == "0"
    assert isinstance(first[0], int) and isinstance(first[6], int) and isinstance(first[8], int)
    assert all(
        isinstance(first[i], str) and len(first[i].split(".")[1]) == 8
        for i in (1, 2, 3, 4, 5, 7, 9, 10)
    )
    assert first[6] == rows[1][0] - 1  # a month's close time is the next month's open - 1
    assert float(first[1]) == int(page.open[0]) / 100
    assert float(first[5]) == int(page.volume[0]) * SPEC.volume_quantum
