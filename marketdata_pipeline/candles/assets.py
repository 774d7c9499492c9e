"""Candle assets: one time-partitioned asset per (exchange, symbol, timeframe)."""

import asyncio
import time
from datetime import timedelta

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ..automation.keys import candles_key
from ..automation.partitions import partition_windows, partitions_for
from ..config import Freshness, Quality, Series
from ..exchange.errors import FetchError
from ..exchange.resource import ExchangeResource, exchange_resource_key
from ..storage.io_manager import IO_MANAGER_KEY
from ..storage.schema import CANDLES
from ..storage.store import STORE_KEY, CandleStore
from ..timeframes import iso, now_ms
from .checks import candle_check_results, candle_check_specs
from .ingest import IngestResult, ingest


def candle_asset(
    series: Series, peers: list[Series], quality: Quality, freshness: Freshness
) -> AssetsDefinition:
    """The asset that keeps one series' closed candles in ArcticDB, a partition at a time.

    `peers` are the series of the same exchange and timeframe, to tell outages from gaps.
    """
    resource_key = exchange_resource_key(series.exchange)
    key = candles_key(series)
    # Dagster's own freshness (when the asset last ran) beside the data lag the sensor measures.
    fail_window = timedelta(
        milliseconds=(freshness.candles + 1) * series.timeframe.ms + freshness.grace_seconds * 1000
    )

    @asset(
        key=key,
        check_specs=candle_check_specs(key),
        description=f"Closed {series.timeframe.name} OHLCV candles of {series.symbol} on {series.exchange}.",
        partitions_def=partitions_for(series),
        backfill_policy=BackfillPolicy.single_run(),
        freshness_policy=FreshnessPolicy.time_window(fail_window=fail_window),
        group_name=series.exchange,
        kinds={"ccxt", "arcticdb"},
        pool=series.exchange,
        required_resource_keys={STORE_KEY, resource_key},
        io_manager_key=IO_MANAGER_KEY,
        metadata={
            "series": series.name,
            "library": CANDLES,
            "symbol": series.symbol,
            "timeframe": series.timeframe.name,
        },
    )
    def _candles(context: AssetExecutionContext) -> MaterializeResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        exchange: ExchangeResource = getattr(context.resources, resource_key)
        windows = partition_windows(context)

        # A candle counts as closed `settle_seconds` after its close: a clock ahead of the
        # exchange's, or an exchange still settling its last trades, never leaks a partial one.
        now = now_ms() - exchange.settings.settle_seconds * 1000

        async def run():
            async with exchange.client() as client:
                return await ingest(series, windows, client, store, now), client.stats

        began = time.monotonic()
        try:
            result, stats = asyncio.run(run())
        except FetchError as e:
            raise Failure(description=str(e), allow_retries=False) from None
        metadata = _metadata(result, stats, store.summary(series).rows)
        metadata["fetch_seconds"] = round(time.monotonic() - began, 3)
        return MaterializeResult(
            metadata=metadata,
            check_results=candle_check_results(store, series, peers, windows, now, quality),
        )

    return _candles


def _metadata(result: IngestResult, stats, stored_rows: int) -> dict:
    def when(ts: int | None) -> str:
        return iso(ts) if ts is not None else "-"

    return {
        "rows_written": result.rows_written,
        "rows_already_present": result.rows_present,
        "rows_stored": stored_rows,
        "first_candle": when(result.first_candle),
        "last_candle": when(result.last_candle),
        "requests": stats.requests,
        "request_weight": stats.weight,
        "retries": stats.retries,
        "seconds_backing_off": round(stats.seconds_backing_off, 3),
        "seconds_waited_rate_limit": round(stats.seconds_waited, 3),
        "seconds_waited_series_lock": round(result.lock_wait_seconds, 3),
        "missing_candles": result.missing_candles,
        "gaps": MetadataValue.md(
            "\n".join(f"- {when(a)} to {when(b)}" for a, b in result.gaps) or "none"
        ),
    }
