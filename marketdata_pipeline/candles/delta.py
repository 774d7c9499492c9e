"""What a series still lacks: ranges after each window's last stored candle, closed only."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..config import Series
from ..storage.schema import CANDLES

if TYPE_CHECKING:
    from ..storage.store import CandleStore

# Open times read at once: few reads for many short windows (3 years of daily partitions), and
# 0.8 MB however long the range.
SLAB_ROWS = 100_000


class Stored(NamedTuple):
    """What one window holds: its rows and their first and last open time (ms)."""

    rows: int = 0
    first: int | None = None
    last: int | None = None


def stored_in(
    store: CandleStore, series: Series, windows: list[tuple[int, int]], library: str = CANDLES
) -> list[Stored]:
    """Per window (ascending), read in slabs of consecutive windows of at most SLAB_ROWS
    candles or one window: a multi-year run never holds its whole range of open times (1.6
    million for 3 years of 1m, 50 MB while read)."""
    held: list[Stored] = []
    for slab in _slabs(windows, SLAB_ROWS * series.timeframe.ms):
        times = store.open_times(series, slab[0][0], slab[-1][1], library).to_numpy()
        for lo, hi in slab:
            part = times[np.searchsorted(times, lo) : np.searchsorted(times, hi)]
            held.append(Stored(len(part), int(part[0]), int(part[-1])) if len(part) else Stored())
    return held


def _slabs(windows: list[tuple[int, int]], span_ms: int) -> list[list[tuple[int, int]]]:
    slabs: list[list[tuple[int, int]]] = []
    for window in windows:
        if slabs and window[1] - slabs[-1][0][0] <= span_ms:
            slabs[-1].append(window)
        else:
            slabs.append([window])
    return slabs


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
