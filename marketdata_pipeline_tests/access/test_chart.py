"""Charts of a series filled through the pipeline: files and `marketdata chart`."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from marketdata_pipeline.access.chart import (
    CANDLESTICK_LIMIT,
    chart_figure,
    render_chart,
)
from marketdata_pipeline.books.layout import snapshot_rows
from marketdata_pipeline.books.metrics import book_metrics
from marketdata_pipeline.cli.serve import chart
from marketdata_pipeline.storage.schema import BOOK_METRICS, INDICATORS
from marketdata_pipeline.timeframes import HOUR_MS

from ..conftest import day_key, day_ms, market
from .test_books import btc_book, stored_order

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def charted(make_project):
    """One day of BTC/USDT 1m candles and indicators through the pipeline, and the book metrics
    of its 06:00 hour (a snapshot every 10 s); ETH/USDT collects no book."""
    project = make_project(
        [market(order_book={"depth": 3, "every_seconds": 10}), market("ETH/USDT")]
    )
    project.materialize(project.series(), day_key(2))
    start = day_ms(2) + 6 * HOUR_MS
    times = [start + 10_000 * k for k in range(360)]
    snapshots = snapshot_rows([btc_book(k % 12) for k in range(360)], 3, times)
    metrics = stored_order(book_metrics(snapshots, 3))
    project.store.replace(book_of(project), metrics, start, start + HOUR_MS, BOOK_METRICS)
    return project


def book_of(project):
    return project.config.polled_series[0]


@pytest.fixture
def frames(charted):
    """One day of 1m candles and their indicators, as the pipeline stores them."""
    series = charted.series()
    return charted.store.read(series), charted.store.read(series, library=INDICATORS)


def lines(ax) -> dict[str, list]:
    """The pane's labelled lines and their values (NaN, where there is none, as None)."""
    return {
        line.get_label(): [None if np.isnan(v) else v for v in line.get_ydata()]
        for line in ax.get_lines()
        if not line.get_label().startswith("_")
    }


def column(frame, name: str) -> list:
    return frame[name].fill_nan(None).to_list()


@pytest.mark.parametrize("rows", [60, 1440], ids=["candlesticks", "close-line"])
def test_three_panes_draw_prices_and_every_indicator(frames, rows):
    candles, indicators = frames
    candles = candles.tail(rows)
    joined = candles.join(indicators, on="open_time", how="left")
    price, rsi, macd = chart_figure(candles, indicators, "binance BTC/USDT 1m").axes
    expected_price = {"EMA 12": column(joined, "ema12"), "EMA 26": column(joined, "ema26")}
    if rows <= CANDLESTICK_LIMIT:  # a body per candle (and a wick), no close line
        assert len(price.patches) == rows
        bodies = (joined["close"] - joined["open"]).to_list()
        # A flat candle gets a hairline body, so that it still shows.
        assert [p.get_height() for p in price.patches] == [b or 1e-9 for b in bodies]
    else:
        assert len(price.patches) == 0
        expected_price = {"close": column(joined, "close"), **expected_price}
    assert lines(price) == expected_price
    assert lines(rsi) == {f"RSI {n}": column(joined, f"rsi{n}") for n in (14, 6, 24)}
    assert rsi.get_ylim() == (0, 100)
    levels = [line.get_ydata()[0] for line in rsi.get_lines() if line.get_label().startswith("_")]
    assert levels == [30, 70]
    assert lines(macd) == {"MACD": column(joined, "macd"), "signal": column(joined, "macd_signal")}
    heights = [p.get_height() for p in macd.patches]
    assert [None if np.isnan(h) else h for h in heights] == column(joined, "macd_hist")


def test_png_is_an_image_of_the_chart_size(frames, tmp_path):
    path = tmp_path / "chart.png"
    render_chart(*frames, "binance BTC/USDT 1m", path)
    assert Image.open(path).size == (12 * 110, 8 * 110)  # 12 x 8 inches at 110 dpi


def test_html_is_self_contained(frames, tmp_path):
    path = tmp_path / "chart.HTML"
    render_chart(*frames, "BTC <USDT> & co", path)
    text = path.read_text()
    assert text.startswith("<!doctype html>") and "<title>BTC &lt;USDT&gt; &amp; co</title>" in text
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text, re.IGNORECASE)
    (image,) = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert base64.b64decode(image).startswith(PNG_MAGIC)


def test_chart_without_indicators_still_draws_prices(frames, tmp_path):
    candles, _ = frames
    render_chart(candles, candles.clear().select("open_time"), "no indicators", tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes().startswith(PNG_MAGIC)


def test_unknown_format_is_refused(frames, tmp_path):
    with pytest.raises(ValueError, match=r"unsupported chart format '\.svg'; use \.png or \.html"):
        render_chart(*frames, "t", tmp_path / "chart.svg")


def invoke(*args: str):
    return CliRunner().invoke(chart, list(args), catch_exceptions=False)


def test_cli_writes_the_chart(frames, tmp_path):
    out = tmp_path / "btc.png"
    result = invoke(
        "binance",
        "btc/usdt",
        "1m",
        "--start",
        f"{day_key(2)}T06:00",
        "--end",
        day_key(1),
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out} (1080 candles)\n"
    assert out.read_bytes().startswith(PNG_MAGIC)
    page = tmp_path / "btc.html"
    assert invoke("binance", "BTC/USDT", "1m", "--output", str(page)).output == (
        f"wrote {page} (300 candles)\n"  # the last stored ones, though they are days old
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["kraken", "BTC/USDT", "1m", "-o", "c.png"],
            "error: no configured series matches exchange=kraken symbol=BTC/USDT timeframe=1m",
        ),
        (["binance", "BTC/USDT", "2h", "-o", "c.png"], "error: unknown timeframe '2h'"),
        (
            ["binance", "BTC/USDT", "1m", "-o", "c.jpg"],
            "error: --output c.jpg: unsupported format; use a .png or .html file",
        ),
        (
            [
                "binance",
                "BTC/USDT",
                "1m",
                "--start",
                day_key(9),
                "--end",
                day_key(8),
                "-o",
                "c.png",
            ],
            "error: no candles of binance/btc_usdt/1m in the range; see `marketdata series`",
        ),
        (
            ["binance", "BTC/USDT", "1m", "--start", "2024-13-01", "-o", "c.png"],
            "error: --start: invalid date '2024-13-01'",
        ),
        (["binance", "BTC/USDT", "1m"], "Error: Missing option '-o' / '--output'"),
    ],
)
def test_cli_mistakes_get_one_line(frames, tmp_path, args, message):
    result = CliRunner().invoke(chart, args)
    assert result.exit_code == 2
    assert message in result.output and result.output.count("error") <= 1
    if message.startswith("error:"):
        assert result.output.startswith(message) and result.output.count("\n") == 1
    assert not (tmp_path / "c.png").exists()


def test_the_book_pane_draws_spread_and_depth_near_mid(charted, frames):
    metrics = charted.store.read(book_of(charted), library=BOOK_METRICS)
    assert len(chart_figure(*frames, "no book").axes) == 3
    figure = chart_figure(*frames, "with book", book=metrics)
    price, _, _, pane, depth = figure.axes  # the depth axis is the pane's right-hand twin
    assert pane.get_shared_x_axes().joined(pane, price)
    (spread,) = pane.get_lines()
    bid, ask = depth.get_lines()
    assert [line.get_label() for line in (spread, bid, ask)] == [
        "spread (bps)",
        "bid depth within 50 bps (quote)",
        "ask depth within 50 bps (quote)",
    ]
    assert [t.get_text() for t in pane.get_legend().get_texts()] == [
        line.get_label() for line in (spread, bid, ask)
    ]
    assert list(spread.get_ydata()) == metrics["spread_bps"].to_list()
    assert list(bid.get_ydata()) == metrics["bid_depth_50bps_quote"].to_list()
    assert list(ask.get_ydata()) == metrics["ask_depth_50bps_quote"].to_list()
    # snapshot k % 12 has mid 100 + k % 12 and spread 1: 10,000 / mid bps
    assert spread.get_ydata()[:2].tolist() == [100.0, 1e4 / 101]
    assert str(spread.get_xdata()[0]) == f"{day_key(2)}T06:00:00.000"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_cli_adds_the_book_pane(charted, tmp_path):
    window = ["--start", f"{day_key(2)}T05:00", "--end", f"{day_key(2)}T08:00"]
    page, plain = tmp_path / "book.html", tmp_path / "plain.html"
    result = invoke("binance", "BTC/USDT", "1m", *window, "--book", "-o", str(page))
    assert result.output == f"wrote {page} (180 candles, 360 book snapshots)\n"
    invoke("binance", "BTC/USDT", "1m", *window, "-o", str(plain))
    images = [
        base64.b64decode(re.findall(r'src="data:image/png;base64,([^"]+)"', p.read_text())[0])
        for p in (page, plain)
    ]
    assert [png_size(i) for i in images] == [(1320, 1100), (1320, 880)]  # the pane's height


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["binance", "ETH/USDT", "1m", "--book"],
            "error: binance ETH/USDT collects no order book; set `order_book: {depth: 20,"
            " every_seconds: 10}` on exchanges[binance].markets[ETH/USDT] in ",
        ),
        (
            ["binance", "BTC/USDT", "1m", "--book", "--start", f"{day_key(2)}T10:00"],
            "error: no book metrics of binance/btc_usdt/order_book in the range; the asset"
            " binance/btc_usdt/book_metrics computes them a day at a time (materialize it in the"
            " Dagster UI) from the snapshots `marketdata stream` collects\n",
        ),
    ],
)
def test_book_pane_mistakes_get_one_line(charted, tmp_path, args, message):
    result = CliRunner().invoke(chart, [*args, "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 2 and result.output.startswith(message)
    assert result.output.count("\n") == 1 and not (tmp_path / "c.png").exists()
