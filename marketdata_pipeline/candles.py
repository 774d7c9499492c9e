"""Candle assets: one time-partitioned asset per (exchange, symbol, timeframe)."""

import asyncio

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

from .checks import anomaly_result, candle_check_specs, structure_result
from .config import Quality, Series
from .exchange import ExchangeResource, FetchError
from .ingest import IngestResult, ingest
from .partitions import partition_windows, partitions_for
from .store import CandleStore
from .timeframes import from_ms, now_ms

STORE_KEY = "candle_store"


def exchange_resource_key(exchange: str) -> str:
    return f"exchange_{exchange}"


def candles_key(series: Series) -> AssetKey:
    return AssetKey([series.exchange, series.market_slug, f"candles_{series.timeframe.name}"])


def candle_asset(series: Series, peers: list[Series], quality: Quality) -> AssetsDefinition:
    """The asset that keeps one series' closed candles in ArcticDB, a partition at a time.

    `peers` are the series of the same exchange and timeframe, to tell outages from gaps.
    """
    resource_key = exchange_resource_key(series.exchange)
    key = candles_key(series)

    @asset(
        key=key,
        check_specs=candle_check_specs(key),
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

        now = now_ms()

        async def run():
            async with exchange.client() as client:
                return await ingest(series, windows, client, store, now), client.stats

        try:
            result, stats = asyncio.run(run())
        except FetchError as e:
            raise Failure(description=str(e), allow_retries=False) from None
        start, end = windows[0][0], windows[-1][1]
        stored = store.read(series, start, end)
        summary = store.summary(series)
        # Gaps count from the first candle ever stored (not before a listing) to the last closed.
        first_ms = summary.first.value // 1_000_000 if summary.first is not None else end
        since = series.timeframe.ceil(max(start, series.start_ms, first_ms))
        until = min(end, series.timeframe.closed_until(now))
        return MaterializeResult(
            metadata=_metadata(result, stats, summary.rows),
            check_results=[
                structure_result(stored, series, start, end, now_ms()),
                anomaly_result(store, series, peers, stored, since, max(since, until), quality),
            ],
        )

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
