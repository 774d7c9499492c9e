"""Candles of any interval as exact aggregations of the visible 1-minute candles.

"Visible" means: at or after listing, before any delisting, already opened at ``now_ms`` and
outside maintenance gaps; the in-progress minute holds only its trades so far, as on Binance.
Intervals made of whole hours (1h ... 1M) are built from hour candles that are computed in
8-day chunks and cached once complete, so a 1000-week page never regenerates old minutes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.intervals import DAY_MS, HOUR_MS, MINUTE_MS, Interval
from marketdata_pipeline.simulator.market import minute_candles
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trades import minute_so_far

Gaps = tuple[tuple[int, int], ...]
"""Maintenance windows ``[start_ms, end_ms)`` during which no candles exist."""

_CHUNK_MS = 8 * DAY_MS


def visible_minutes(
    spec: MarketSpec, start_ms: int, end_ms: int, now_ms: int, gaps: Gaps = ()
) -> Candles:
    """1m candles with open time in ``[start_ms, end_ms)`` that a client could see at ``now_ms``."""
    lo = max(start_ms, spec.listing_ms)
    hi = min(end_ms, now_ms // MINUTE_MS * MINUTE_MS + MINUTE_MS)
    if spec.delisting_ms is not None:
        hi = min(hi, spec.delisting_ms)
    if hi <= lo:
        return Candles.empty()
    candles = minute_candles(spec, -(-lo // MINUTE_MS), -(-hi // MINUTE_MS))
    if len(candles) and candles.time[-1] == now_ms // MINUTE_MS * MINUTE_MS:
        so_far = minute_so_far(spec, now_ms // MINUTE_MS, now_ms)
        candles = Candles.concat([candles.select(slice(0, -1)), so_far])
    hidden = [(s, e) for s, e in gaps if s < hi and e > lo]
    if not hidden:
        return candles
    keep = np.ones(len(candles), dtype=bool)
    for gap_start, gap_end in hidden:
        keep &= (candles.time < gap_start) | (candles.time >= gap_end)
    return candles.select(keep)


def _hours(minutes: Candles) -> Candles:
    return minutes.group(minutes.time // HOUR_MS * HOUR_MS)


@lru_cache(maxsize=4096)
def _complete_chunk(spec: MarketSpec, chunk_start: int, gaps: Gaps) -> Candles:
    chunk_end = chunk_start + _CHUNK_MS
    return _hours(visible_minutes(spec, chunk_start, chunk_end, chunk_end, gaps))


def hour_candles(
    spec: MarketSpec, start_ms: int, end_ms: int, now_ms: int, gaps: Gaps = ()
) -> Candles:
    """Hour candles for hours opening in ``[start_ms, end_ms)`` (hour-aligned bounds)."""
    start_ms = max(start_ms, spec.listing_ms // HOUR_MS * HOUR_MS)
    end_ms = min(end_ms, now_ms // HOUR_MS * HOUR_MS + HOUR_MS)
    parts = []
    for chunk_start in range(start_ms // _CHUNK_MS * _CHUNK_MS, end_ms, _CHUNK_MS):
        chunk_end = chunk_start + _CHUNK_MS
        if chunk_end <= now_ms // MINUTE_MS * MINUTE_MS:
            local = tuple((s, e) for s, e in gaps if s < chunk_end and e > chunk_start)
            parts.append(_complete_chunk(spec, chunk_start, local))
        else:
            lo, hi = max(chunk_start, start_ms), min(chunk_end, end_ms)
            parts.append(_hours(visible_minutes(spec, lo, hi, now_ms, gaps)))
    hours = Candles.concat(parts)
    return hours.select((hours.time >= start_ms) & (hours.time < end_ms))


def interval_candles(
    spec: MarketSpec,
    interval: Interval,
    first_open: int,
    last_open: int,
    now_ms: int,
    gaps: Gaps = (),
) -> Candles:
    """Non-empty candles of ``interval`` opening in ``[first_open, last_open]`` (both aligned)."""
    end_ms = interval.next_open(last_open)
    if interval.is_hourly_multiple:
        parts = hour_candles(spec, first_open, end_ms, now_ms, gaps)
    else:
        parts = visible_minutes(spec, first_open, end_ms, now_ms, gaps)
    return parts.group(interval.floor(parts.time))
