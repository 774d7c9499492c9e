"""Raw OHLCV pages into clean candles: a page is trusted entirely or not at all.

Pages stay numpy arrays (one row per candle, the columns of CANDLE_SCHEMA, float64) until a
whole fetched range is turned into one polars frame: per-page frames cost more than the
parsing they replace.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..storage.schema import CANDLE_SCHEMA
from .errors import MalformedPage, one_line

COLUMNS = list(CANDLE_SCHEMA)
EMPTY = np.empty((0, len(COLUMNS)))
# Where the columns sit in the rows of ccxt's unified fetch_ohlcv: six of them, no extras.
UNIFIED = (0, 1, 2, 3, 4, 5)


def clean_page(
    raw: object, cursor: int, hi: int, columns: tuple[int, ...] = UNIFIED
) -> tuple[np.ndarray, bool]:
    """Sorted, unique candles inside [cursor, hi), and whether the page reached past hi.

    `columns` says where each column of CANDLE_SCHEMA is in a raw row (missing extras are
    null). A row without all of them as finite numbers makes the whole page malformed.
    """
    if not isinstance(raw, list) or not all(isinstance(r, list) for r in raw):
        raise MalformedPage("page is not a list of candle rows")
    if not raw:
        return EMPTY, False
    try:
        table = np.array(raw, dtype=object)
        if table.ndim == 2:
            table = table[:, list(columns)]
        else:  # rows of different lengths: each row's own columns
            table = np.array([[row[i] for i in columns] for row in raw], dtype=object)
        values = table.astype(np.float64)
    except (IndexError, TypeError, ValueError) as e:
        raise MalformedPage(f"unreadable candles: {one_line(e)}") from None
    if not np.isfinite(values).all():
        raise MalformedPage("a candle has a missing or non-finite value")
    if values.shape[1] < len(COLUMNS):
        missing = np.full((len(values), len(COLUMNS) - values.shape[1]), np.nan)
        values = np.hstack([values, missing])
    times = values[:, 0]
    beyond = bool(times.max() >= hi)
    values = values[(times >= cursor) & (times < hi)]
    # np.unique sorts by open time and points at the first occurrence of each: duplicates keep
    # the first one served.
    _, first = np.unique(values[:, 0], return_index=True)
    return values[first], beyond


def as_candles(pages: list[np.ndarray]) -> pl.DataFrame:
    """Clean pages of one range, in order, as candles in the stored schema.

    Each page is sorted and unique, and starts after the last candle of the page before it,
    so stacking them keeps the candles sorted and unique.
    """
    values = np.vstack(pages) if pages else EMPTY
    frame = pl.DataFrame(
        {c: values[:, i] for i, c in enumerate(COLUMNS)}, nan_to_null=True
    ).with_columns(pl.col("open_time").cast(pl.Int64))
    return frame.cast(CANDLE_SCHEMA)
