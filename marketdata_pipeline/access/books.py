"""Book snapshots as readers get them: the top levels asked for, and their metrics beside them.

Snapshots and their metrics are stored apart (metrics are computed a day at a time by the
pipeline), both indexed by the snapshot's receive time, so metrics join on `local_timestamp`
and are null for snapshots not computed yet, as indicators are for candles.
"""

from __future__ import annotations

import polars as pl

from ..config import Series
from ..storage.schema import BOOK_METRICS, book_schema, empty_frame
from ..storage.store import CandleStore


def stored_book_schema(depth: int) -> dict[str, pl.DataType]:
    """A book's columns in stored order: the index `local_timestamp` first."""
    schema = book_schema(depth)
    return {"local_timestamp": schema.pop("local_timestamp"), **schema}


class BookDepthError(ValueError):
    """More levels asked for than the book keeps (or fewer than none)."""


def checked_depth(series: Series, depth: int | None) -> int:
    """Levels per side to keep: `depth`, or all the configured ones; BookDepthError naming the
    range if the book keeps fewer."""
    if depth is None:
        return series.depth
    if not 0 <= depth <= series.depth:
        raise BookDepthError(
            f"depth {depth}: {series.exchange} {series.symbol} keeps {series.depth} levels per"
            f" side; ask for 0 to {series.depth}"
        )
    return depth


def book_frame(
    store: CandleStore, series: Series, snapshots: pl.DataFrame, depth: int, metrics: bool
) -> pl.DataFrame:
    """Snapshots with levels 0..depth-1 (null where a book had fewer), then, with `metrics`, the
    stored metrics of each snapshot (without their copy of the times)."""
    schema = stored_book_schema(depth)
    empty = pl.DataFrame(schema=schema)
    frame = pl.concat([empty, snapshots], how="diagonal_relaxed").select(list(schema))
    if not metrics:
        return frame
    values = empty_frame(BOOK_METRICS)
    if frame.height:
        times = frame["local_timestamp"].dt.epoch("ms")
        values = store.read(series, times.min(), times.max() + 1, BOOK_METRICS)
    return frame.join(values.drop("timestamp"), on="local_timestamp", how="left")
