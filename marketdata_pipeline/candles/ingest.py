"""Delta ingestion of one series over partition windows: fetch only what is missing, write as you go.

Each window is fetched from just after its last stored candle, only closed candles are asked
for, and fetched chunks are written one after another, so a run killed half-way keeps what it
wrote and the next run resumes from there.
"""

from __future__ import annotations

import asyncio

from ..automation.steps import IngestResult
from ..config import Series
from ..exchange.client import ExchangeClient
from ..storage.store import CandleStore
from .delta import Stored, chunks, delta_ranges
from .validation import gap_ranges


async def ingest(
    series: Series,
    windows: list[tuple[int, int]],
    client: ExchangeClient,
    store: CandleStore,
    now_ms: int,
    stored: list[Stored],
) -> IngestResult:
    """Fetch and store every closed candle of `series` missing from `windows`, given what is
    already `stored` in each."""
    closed_until = series.timeframe.closed_until(now_ms)
    result = IngestResult()
    todo = chunks(
        delta_ranges(series, windows, stored, closed_until),
        client.connector.pages_per_write * client.page_size * series.timeframe.ms,
    )
    if not todo:
        return result
    client.check_market(series)
    client.check_reach(series, todo[0][0], now_ms)
    first = store.summary(series).first_ms
    listed = first is not None and first < todo[0][0]  # a candle before: listed before
    writing: asyncio.Task | None = None
    try:
        for lo, hi in todo:
            frame = await client.fetch_range(series, lo, hi)
            if writing:
                result.add(await writing)
            for gap in gap_ranges(frame, series.timeframe, lo, hi):
                if gap[0] == lo and not listed:
                    continue  # before the market's first candle ever: not listed yet
                result.gaps.append(gap)
            listed = listed or frame.height > 0
            writing = asyncio.create_task(asyncio.to_thread(store.write, series, frame, lo, hi))
    finally:
        if writing:
            result.add(await writing)
    return result
