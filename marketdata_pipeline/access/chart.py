"""Price, RSI and MACD charts of a series as PNG or self-contained HTML (matplotlib's Agg), with
an optional pane of the market's book: spread and depth near mid, from its stored metrics.

Figures are built with `matplotlib.figure.Figure`, never pyplot, so no global backend or
figure registry is touched and charts can be drawn from any thread (API, Dagster step).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from ..storage.schema import INDICATOR_COLUMNS

FORMATS = (".png", ".html")
# Up to this many candles get bodies and wicks; more would be a smear, so the close is drawn
# as a line instead.
CANDLESTICK_LIMIT = 400
UP, DOWN = "#26a69a", "#ef5350"
# The book pane: spread, and the quote amount resting within this band of mid on each side.
BOOK_BAND_BPS = 50
BOOK_LINES = {
    "spread_bps": "spread (bps)",
    f"bid_depth_{BOOK_BAND_BPS}bps_quote": f"bid depth within {BOOK_BAND_BPS} bps (quote)",
    f"ask_depth_{BOOK_BAND_BPS}bps_quote": f"ask depth within {BOOK_BAND_BPS} bps (quote)",
}


def render_chart(
    candles: pl.DataFrame,
    indicators: pl.DataFrame,
    title: str,
    path: Path,
    book: pl.DataFrame | None = None,
) -> None:
    """Write the chart to `path`, a .png or a .html with the image inline (no external assets);
    with `book` (stored book metrics), a fourth pane of its spread and depth."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unsupported chart format {path.suffix!r}; use .png or .html")
    size = (12, 8) if book is None else (12, 10)
    image = _png(chart_figure(candles, indicators, title, size, book), dpi=110)
    if suffix == ".png":
        path.write_bytes(image)
    else:
        path.write_text(_html(image, title))


def chart_figure(
    candles: pl.DataFrame,
    indicators: pl.DataFrame,
    title: str,
    size: tuple[float, float] = (12, 8),
    book: pl.DataFrame | None = None,
) -> Figure:
    """Panes, top to bottom: price with EMAs, RSI, MACD, and with `book` its spread and depth."""
    if candles.is_empty():
        raise ValueError(f"no candles to chart for {title}")
    frame = _joined(candles, indicators)
    x = frame["open_time"].dt.replace_time_zone(None).to_numpy()
    col = {c: frame[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in frame.columns[1:]}
    fig = Figure(figsize=size, layout="constrained")
    ratios = (3, 1, 1) if book is None else (3, 1, 1, 1.2)
    price, rsi, macd, *extra = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios)
    fig.suptitle(title, fontsize=12)
    _price(price, x, col, candlesticks=frame.height <= CANDLESTICK_LIMIT)
    rsi.plot(x, col["rsi14"], color="#7e57c2", lw=1, label="RSI 14")
    rsi.plot(x, col["rsi6"], color="#ffa726", lw=0.6, label="RSI 6")
    rsi.plot(x, col["rsi24"], color="#8d6e63", lw=0.6, label="RSI 24")
    for level in (30, 70):
        rsi.axhline(level, color="grey", lw=0.6, ls="--")
    rsi.set_ylim(0, 100)
    hist = col["macd_hist"]
    macd.bar(x, hist, width=_width(x), color=np.where(hist >= 0, UP, DOWN), alpha=0.6)
    macd.plot(x, col["macd"], color="#1e88e5", lw=1, label="MACD")
    macd.plot(x, col["macd_signal"], color="#fb8c00", lw=1, label="signal")
    if book is not None:
        _book(extra[0], book)
    panes = (price, rsi, macd, *extra)
    locator = AutoDateLocator()
    panes[-1].xaxis.set_major_locator(locator)
    panes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    for ax in panes:
        ax.grid(alpha=0.2)
        ax.tick_params(labelsize=8)
    for ax in (price, rsi, macd):  # the book pane has its own, over both of its axes
        ax.legend(loc="upper left", fontsize=7)
    return fig


def _book(ax, book: pl.DataFrame) -> None:
    """Spread in bps on the left axis; bid and ask depth near mid (quote) on the right one."""
    frame = book.sort("local_timestamp")
    x = frame["local_timestamp"].dt.replace_time_zone(None).to_numpy()
    y = {c: frame[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in BOOK_LINES}
    spread, bid, ask = BOOK_LINES
    ax.plot(x, y[spread], color="#455a64", lw=0.8, label=BOOK_LINES[spread])
    ax.set_ylabel("bps", fontsize=7)
    depth = ax.twinx()
    depth.plot(x, y[bid], color=UP, lw=0.8, label=BOOK_LINES[bid])
    depth.plot(x, y[ask], color=DOWN, lw=0.8, label=BOOK_LINES[ask])
    depth.tick_params(labelsize=8)
    lines = ax.get_lines() + depth.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize=7)


def _price(ax, x: np.ndarray, col: dict[str, np.ndarray], candlesticks: bool) -> None:
    """Candlesticks (wick line, body bar) when they stay legible, else the close line."""
    if candlesticks:
        colors = np.where(col["close"] >= col["open"], UP, DOWN)
        ax.vlines(x, col["low"], col["high"], colors=colors, lw=0.6)
        body = col["close"] - col["open"]
        ax.bar(x, np.where(body == 0, 1e-9, body), _width(x) * 0.7, col["open"], color=colors)
    else:
        ax.plot(x, col["close"], color="#455a64", lw=0.8, label="close")
    ax.plot(x, col["ema12"], color="#1e88e5", lw=0.9, label="EMA 12")
    ax.plot(x, col["ema26"], color="#fb8c00", lw=0.9, label="EMA 26")


def _joined(candles: pl.DataFrame, indicators: pl.DataFrame) -> pl.DataFrame:
    """Candles with their indicator values (null where none are stored)."""
    prices = candles.select("open_time", "open", "high", "low", "close").sort("open_time")
    if indicators.is_empty() or "open_time" not in indicators.columns:
        return prices.with_columns(pl.lit(None, pl.Float64).alias(c) for c in INDICATOR_COLUMNS)
    return prices.join(
        indicators.select("open_time", *INDICATOR_COLUMNS), on="open_time", how="left"
    )


def _width(x: np.ndarray) -> float:
    """One candle's width in matplotlib date units (days)."""
    if len(x) < 2:
        return 1 / 1440
    step = np.median(np.diff(x)).astype("timedelta64[ms]").astype(np.int64)
    return float(step) / 86_400_000


def _png(fig: Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _html(image: bytes, title: str) -> str:
    data = base64.b64encode(image).decode("ascii")
    name = html.escape(title)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{name}</title></head>\n"
        f'<body style="margin:0;background:#fff"><img alt="{name}" style="max-width:100%"'
        f' src="data:image/png;base64,{data}"></body></html>\n'
    )
