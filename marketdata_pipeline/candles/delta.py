"""What a series still lacks: ranges after each window's last stored candle, closed only."""

from __future__ import annotations

import polars as pl

from ..config import Series


def delta_ranges(
    series: Series, windows: list[tuple[int, int]], stored: pl.Series, closed_until: int
) -> list[tuple[int, int]]:
    """Per window, [after its last stored candle, its end) clipped to the market start and to
    closed candles; adjacent ranges are merged."""
    ranges: list[tuple[int, int]] = []
    for start, end in windows:
        in_window = stored.filter((stored >= start) & (stored < end))
        lo = series.timeframe.ceil(max(start, series.start_ms))
        if in_window.len():
            lo = max(lo, int(in_window.max()) + series.timeframe.ms)
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
