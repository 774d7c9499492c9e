"""The warm-up an indicator row needs: how many candles, and where they are stored."""

from __future__ import annotations

import math

import polars as pl

from ..config import Series
from ..storage.schema import CANDLES, DERIVED_FROM, INDICATORS
from ..storage.store import CandleStore
from ..timeframes import DAY_MS

# Bars read before a partition: TA-Lib's seeds then weigh less than 1e-18 in every value.
WARMUP_BARS = DERIVED_FROM[CANDLES][INDICATORS]
SHORTEST_WINDOW_MS = {"day": DAY_MS, "month": 28 * DAY_MS, "year": 365 * DAY_MS}


def warmup_partitions(series: Series) -> int:
    """How many earlier candle partitions hold the warm-up bars of a partition."""
    return math.ceil(WARMUP_BARS * series.timeframe.ms / SHORTEST_WINDOW_MS[series.partition])


def candles_with_warmup(store: CandleStore, series: Series, start_ms: int, end_ms: int):
    """Candles of [start, end) preceded by at least WARMUP_BARS stored candles, or all of them."""
    first_ms = store.summary(series).first_ms or start_ms
    bars = WARMUP_BARS
    while True:
        lo = max(start_ms - bars * series.timeframe.ms, first_ms)
        frame = store.read(series, lo, end_ms)
        if lo == first_ms or rows_from(frame, start_ms) >= WARMUP_BARS:
            return frame
        bars *= 2


def rows_from(frame: pl.DataFrame, start_ms: int) -> int:
    """Index of the first row at or after start."""
    return int((frame["open_time"].dt.epoch("ms") < start_ms).sum())
