"""What every ingest step shares, whatever its data: running the fetch under the connector's
budget, its figures as metadata and run tags, and a failed fetch as a Dagster `Failure`."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from dagster import AssetExecutionContext, Failure

from ..exchange.errors import FetchError
from ..exchange.resource import ExchangeResource

# Run totals shown on the run itself (the UI's run page and its tags).
RUN_TAGS = ("rows_written", "requests", "retries", "seconds_waited_rate_limit")


@dataclass
class IngestResult:
    rows_written: int = 0
    rows_present: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    lock_wait_seconds: float = 0.0

    def add(self, written) -> None:
        """Count one store write (a `WriteResult`)."""
        self.rows_written += written.rows_written
        self.rows_present += written.rows_present
        self.lock_wait_seconds += written.lock_wait_seconds


def run_ingest(context: AssetExecutionContext, exchange: ExchangeResource, work) -> tuple:
    """Run `work(client)` (a coroutine function returning an IngestResult) with one client of
    the exchange; returns the result and the step's totals, also set as run tags."""

    async def run():
        async with exchange.client() as client:
            return await work(client), client.stats

    began = time.monotonic()
    try:
        result, stats = asyncio.run(run())
    except FetchError as e:
        raise Failure(description=str(e), allow_retries=False) from None
    totals = {
        "rows_written": result.rows_written,
        "rows_already_present": result.rows_present,
        "requests": stats.requests,
        "request_weight": stats.weight,
        "retries": stats.retries,
        "seconds_backing_off": round(stats.seconds_backing_off, 3),
        "seconds_waited_rate_limit": round(stats.seconds_waited, 3),
        "seconds_waited_series_lock": round(result.lock_wait_seconds, 3),
        "fetch_seconds": round(time.monotonic() - began, 3),
    }
    context.instance.add_run_tags(
        context.run.run_id, {f"marketdata/{k}": str(totals[k]) for k in RUN_TAGS}
    )
    return result, totals
