"""ArcticDB at the edge of the store: date ranges, frames in and out, reads that survive a
concurrent writer's pruning."""

from __future__ import annotations

import pandas as pd
import polars as pl
from arcticdb.exceptions import KeyNotFoundException, NoDataFoundException

from .schema import FLOAT_STORED


def read_latest(method, *args, **kwargs):
    """A read of the latest version, again if a writer pruned that version meanwhile: writers
    hold the series lock, readers do not, and ArcticDB deletes a pruned version's data (seen as
    either exception, depending on which key of the version went first)."""
    for _ in range(4):
        try:
            return method(*args, **kwargs)
        except (KeyNotFoundException, NoDataFoundException):
            continue
    return method(*args, **kwargs)


def date_range(start_ms: int | None, end_ms: int | None) -> tuple:
    """ArcticDB ranges include both ends; ours exclude the end, so stop one millisecond short."""
    start = pd.Timestamp(start_ms, unit="ms", tz="UTC") if start_ms is not None else None
    end = pd.Timestamp(end_ms - 1, unit="ms", tz="UTC") if end_ms is not None else None
    return (start, end)


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    frame = frame.with_columns(
        pl.col(c).cast(pl.Float64) for c in FLOAT_STORED if c in frame.columns
    )
    return frame.to_pandas().set_index(frame.columns[0])
