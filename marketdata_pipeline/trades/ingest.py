"""Delta ingestion of a market's trades: fetch only the time ranges not yet known complete.

A range is complete once fetched to its end (see `storage.coverage`); chunks are written as
they arrive, each marking what it completes, so a run killed half-way resumes after its last
chunk and a rerun of a complete day costs nothing.
"""

from __future__ import annotations

import asyncio

from ..automation.steps import IngestResult
from ..config import Series
from ..exchange.client import ExchangeClient
from ..exchange.trades import TradeChunk, trade_chunks
from ..storage.schema import TRADES
from ..storage.store import CandleStore


async def ingest_trades(
    series: Series,
    windows: list[tuple[int, int]],
    client: ExchangeClient,
    store: CandleStore,
    until_ms: int,
) -> IngestResult:
    """Fetch and store every trade of `windows` before `until_ms` not stored yet."""
    result = IngestResult()
    coverage = store.coverage(series, TRADES)
    todo = coverage.missing_in(windows, series.start_ms, until_ms)
    if not todo:
        return result
    client.check_market(series)
    chunk_pages = client.connector.pages_per_write
    writing: asyncio.Task | None = None
    try:
        for lo, hi in todo:
            async for chunk in trade_chunks(client, series, lo, hi, chunk_pages):
                if writing:
                    result.add(await writing)
                result.gaps += chunk.gaps
                writing = asyncio.create_task(asyncio.to_thread(_store, store, series, chunk))
    finally:
        if writing:
            result.add(await writing)
    return result


def _store(store: CandleStore, series: Series, chunk: TradeChunk):
    """Write the chunk's trades, then mark its range complete (never the other way round)."""
    times = chunk.frame["timestamp"].dt.epoch("ms")
    written = store.write(
        series, chunk.frame, times.min() or 0, (times.max() or 0) + 1, library=TRADES
    )
    store.cover(series, TRADES, chunk.covered, chunk.gaps)
    return written
