"""What a series still lacks: ranges after each window's last stored candle, closed only."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from ..config import Series
from ..storage.schema import CANDLES
from ..storage.store import CandleStore


class Stored(NamedTuple):
    """What one window holds: its rows and their first and last open time (ms)."""

    rows: int = 0
    first: int | None = None
    last: int | None = None

    @classmethod
    def of(cls, times: pl.Series) -> Stored:
        return cls(times.len(), times.min(), times.max()) if times.len() else cls()


def stored_in(
    store: CandleStore, series: Series, windows: list[tuple[int, int]], library: str = CANDLES
) -> list[Stored]:
    """Per window, read one window's index at a time: a multi-year run never holds its whole
    range of open times (1.6 million for 3 years of 1m, 50 MB while read)."""
    return [Stored.of(store.open_times(series, lo, hi, library)) for lo, hi in windows]


def delta_ranges(
    series: Series, windows: list[tuple[int, int]], stored: list[Stored], closed_until: int
) -> list[tuple[int, int]]:
    """Per window, [after its last stored candle, its end) clipped to the market start and to
    closed candles; adjacent ranges are merged."""
    ranges: list[tuple[int, int]] = []
    for (start, end), held in zip(windows, stored, strict=True):
        lo = series.timeframe.ceil(max(start, series.start_ms))
        if held.last is not None:
            lo = max(lo, held.last + series.timeframe.ms)
        hi = min(end, closed_until)
        if lo >= hi:
            continue
        if ranges and ranges[-1][1] == lo:
            ranges[-1] = (ranges[-1][0], hi)
        else:
            ranges.append((lo, hi))
    return ranges


def chunks(ranges: list[tuple[int, int]], span: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + span, hi)) for start, hi in ranges for lo in range(start, hi, span)]
