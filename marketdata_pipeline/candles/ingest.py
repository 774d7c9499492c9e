"""Delta ingestion of one series over partition windows: fetch only what is missing, write as you go.

Each window is fetched from just after its last stored candle, only closed candles are asked
for, and fetched chunks are written one after another, so a run killed half-way keeps what it
wrote and the next run resumes from there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import polars as pl

from ..config import Series
from ..exchange.client import ExchangeClient
from ..storage.store import CandleStore
from .validation import gap_ranges

MAX_REPORTED_GAPS = 20


@dataclass
class IngestResult:
    rows_written: int = 0
    rows_present: int = 0
    first_candle: int | None = None
    last_candle: int | None = None
    missing_candles: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    lock_wait_seconds: float = 0.0


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


async def ingest(
    series: Series,
    windows: list[tuple[int, int]],
    client: ExchangeClient,
    store: CandleStore,
    now_ms: int,
) -> IngestResult:
    """Fetch and store every closed candle of `series` missing from `windows`."""
    closed_until = series.timeframe.closed_until(now_ms)
    stored = store.open_times(series, windows[0][0], windows[-1][1])
    result = IngestResult()
    todo = chunks(
        delta_ranges(series, windows, stored, closed_until),
        client.connector.pages_per_write * client.page_size * series.timeframe.ms,
    )
    if not todo:
        return result
    client.check_market(series)
    listed = store.summary(series).rows > 0
    writing: asyncio.Task | None = None
    try:
        for lo, hi in todo:
            frame = await client.fetch_range(series, lo, hi)
            if writing:
                _record(result, await writing)
            for gap in gap_ranges(frame, series.timeframe, lo, hi):
                if gap[0] == lo and not listed:
                    continue  # before the market's first candle ever: not listed yet
                result.missing_candles += (gap[1] - gap[0]) // series.timeframe.ms
                if len(result.gaps) < MAX_REPORTED_GAPS:
                    result.gaps.append(gap)
            listed = listed or frame.height > 0
            if frame.height:
                first, last = frame["open_time"].dt.epoch("ms")[[0, -1]]
                result.first_candle = result.first_candle or first
                result.last_candle = last
            writing = asyncio.create_task(asyncio.to_thread(store.write, series, frame, lo, hi))
    finally:
        if writing:
            _record(result, await writing)
    return result


def _record(result: IngestResult, written) -> None:
    result.rows_written += written.rows_written
    result.rows_present += written.rows_present
    result.lock_wait_seconds += written.lock_wait_seconds
