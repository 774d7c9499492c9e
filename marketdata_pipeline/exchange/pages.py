"""Raw ccxt OHLCV pages into clean candle frames: a page is trusted entirely or not at all."""

from __future__ import annotations

import polars as pl

from ..storage.schema import CANDLE_SCHEMA
from .errors import MalformedPage, one_line

COLUMNS = list(CANDLE_SCHEMA)
EXTRA = COLUMNS[6:]


def clean_page(raw: list, cursor: int, hi: int) -> tuple[pl.DataFrame, bool]:
    """Sorted, unique candles inside [cursor, hi), and whether the page reached past hi.

    A row that is not six numbers (missing, non-numeric or non-finite values) makes the whole
    page malformed: a page is trusted entirely or not at all.
    """
    if not isinstance(raw, list) or not all(isinstance(r, list) and len(r) >= 6 for r in raw):
        raise MalformedPage("page is not a list of candle rows")
    width = max((len(r) for r in raw), default=6)
    rows = [r + [None] * (width - len(r)) for r in raw] if width > 6 else raw
    try:
        frame = pl.DataFrame(rows, schema=COLUMNS[:width], orient="row", strict=False)
        frame = frame.cast({c: CANDLE_SCHEMA[c] for c in frame.columns} | {"open_time": pl.Int64})
    except (pl.exceptions.PolarsError, TypeError, ValueError) as e:
        raise MalformedPage(f"unreadable candles: {one_line(e)}") from None
    prices = frame.select(COLUMNS[1:6])
    if (
        frame["open_time"].null_count()
        or prices.null_count().sum_horizontal().item()
        or not all(prices.select(pl.all().is_finite().all()).row(0))
    ):
        raise MalformedPage("a candle has a missing or non-finite value")
    beyond = bool(frame.height) and frame["open_time"].max() >= hi
    frame = frame.filter(pl.col("open_time").is_between(cursor, hi, closed="left"))
    frame = frame.unique("open_time", keep="first").sort("open_time")
    return frame.with_columns(
        *(pl.lit(None, CANDLE_SCHEMA[c]).alias(c) for c in EXTRA if c not in frame.columns)
    ), beyond


def as_candles(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frame = (
        pl.concat([f.select(COLUMNS) for f in frames])
        if frames
        else pl.DataFrame(schema={**CANDLE_SCHEMA, "open_time": pl.Int64})
    )
    frame = frame.unique("open_time", keep="first").sort("open_time")
    return frame.with_columns(pl.col("open_time").cast(pl.Datetime("ms", "UTC")))


def number(value: object) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
