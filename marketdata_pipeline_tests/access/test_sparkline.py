"""The indicator preview fits the UI's inline limit and draws the latest candles exactly."""

from __future__ import annotations

import re

import polars as pl

from marketdata_pipeline.access.sparkline import INLINE_LIMIT, preview_markdown


def recent(n: int, close=lambda i: 100.0 + i) -> pl.DataFrame:
    rows = [close(i) for i in range(n)]
    return pl.DataFrame(
        {"close": rows, "ema12": rows, "ema26": rows, "rsi14": [50.0] * n, "macd": [0.0] * n}
    )


def test_the_latest_candles_that_fit_inline():
    markdown = preview_markdown(recent(500), "BTC/USDT 1m binance [x]")
    assert len(markdown) < INLINE_LIMIT and " " not in markdown.split("](")[1]
    assert markdown.startswith("![BTC/USDT 1m binance (x)](data:image/svg+xml,<svg%20xmlns=")
    paths = re.findall(r"d='M0,(\d+)l([^']*)'", markdown)
    assert len(paths) == 4  # close, EMA 12, EMA 26 and RSI 14; the levels are absolute
    close, steps = paths[0]
    candles = steps.count(",") // 2 + 2  # pairs of (dx, dy), after the first point
    assert 30 <= candles <= 60
    # A straight rise from the lowest to the highest price of the window, 2 units a candle.
    assert int(close) == 40 and int(close) + sum(map(int, steps.split(",")[1::2])) == 0
    width = re.search(r"viewBox='0%200%20(\d+)%20(\d+)'", markdown).groups()
    assert width == (str(2 * (candles - 1)), "64")


def test_rows_in_warm_up_are_left_out_and_two_rows_are_needed():
    frame = recent(50).with_columns(
        pl.when(pl.int_range(50) < 48).then(None).otherwise(pl.col("rsi14")).alias("rsi14")
    )
    markdown = preview_markdown(frame, "t")
    assert re.search(r"viewBox='0%200%202%2064'", markdown)  # the two complete rows
    assert preview_markdown(frame.tail(1), "t") is None
