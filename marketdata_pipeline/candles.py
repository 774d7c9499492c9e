"""Candle assets: one time-partitioned asset per (exchange, symbol, timeframe)."""

import asyncio
import time

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from .config import Series
from .exchange import ExchangeResource, FetchError
from .ingest import IngestResult, ingest
from .partitions import partition_windows, partitions_for
from .store import CandleStore
from .timeframes import from_ms

STORE_KEY = "candle_store"


def exchange_resource_key(exchange: str) -> str:
    return f"exchange_{exchange}"


def candles_key(series: Series) -> AssetKey:
    return AssetKey([series.exchange, series.market_slug, f"candles_{series.timeframe.name}"])


def candle_asset(series: Series) -> AssetsDefinition:
    """The asset that keeps one series' closed candles in ArcticDB, a partition at a time."""
    resource_key = exchange_resource_key(series.exchange)

    @asset(
        key=candles_key(series),
        description=f"Closed {series.timeframe.name} OHLCV candles of {series.symbol} on {series.exchange}.",
        partitions_def=partitions_for(series),
        backfill_policy=BackfillPolicy.single_run(),
        group_name=series.exchange,
        kinds={"ccxt", "arcticdb"},
        pool=series.exchange,
        required_resource_keys={STORE_KEY, resource_key},
        metadata={
            "series": series.name,
            "symbol": series.symbol,
            "timeframe": series.timeframe.name,
        },
    )
    def _candles(context: AssetExecutionContext) -> MaterializeResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        exchange: ExchangeResource = getattr(context.resources, resource_key)
        windows = partition_windows(context)

        async def run():
            async with exchange.client() as client:
                now_ms = int(time.time() * 1000)
                return await ingest(series, windows, client, store, now_ms), client.stats

        try:
            result, stats = asyncio.run(run())
        except FetchError as e:
            raise Failure(description=str(e), allow_retries=False) from None
        return MaterializeResult(metadata=_metadata(result, stats, store.summary(series).rows))

    return _candles


def _metadata(result: IngestResult, stats, stored_rows: int) -> dict:
    def when(ts: int | None) -> str:
        return from_ms(ts).isoformat() if ts is not None else "-"

    return {
        "rows_written": result.rows_written,
        "rows_already_present": result.rows_present,
        "rows_stored": stored_rows,
        "first_candle": when(result.first_candle),
        "last_candle": when(result.last_candle),
        "requests": stats.requests,
        "request_weight": stats.weight,
        "retries": stats.retries,
        "seconds_waited_rate_limit": round(stats.seconds_waited, 3),
        "seconds_waited_series_lock": round(result.lock_wait_seconds, 3),
        "missing_candles": result.missing_candles,
        "gaps": MetadataValue.md(
            "\n".join(f"- {when(a)} to {when(b)}" for a, b in result.gaps) or "none"
        ),
    }
