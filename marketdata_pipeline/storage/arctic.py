"""ArcticDB at the edge of the store: one handle per URI, date ranges, frames in and out,
reads that survive a concurrent writer's pruning."""

from __future__ import annotations

from functools import lru_cache

import arcticdb
import pandas as pd
import polars as pl
from arcticdb.config import set_config_int
from arcticdb.exceptions import KeyNotFoundException, NoDataFoundException

from .schema import FLOAT_STORED


@lru_cache(maxsize=8)
def arctic_for(uri: str) -> arcticdb.Arctic:
    """One Arctic handle per process and URI: LMDB environments must not be opened twice.

    Every read sees the latest version: ArcticDB otherwise caches it for a few seconds, so a
    long-lived writer (the stream) would merge into a version another process has replaced,
    even under the series lock, and a plan found complete could miss another's write."""
    set_config_int("VersionMap.ReloadInterval", 0)
    return arcticdb.Arctic(uri)


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
