"""Candle assets: one time-partitioned asset per (exchange, symbol, timeframe)."""

from datetime import timedelta

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ..automation.keys import candles_key
from ..automation.partitions import Window, partition_windows, partitions_for
from ..automation.steps import run_ingest
from ..config import Freshness, Quality, Series
from ..exchange.resource import ExchangeResource, exchange_resource_key
from ..storage.io_manager import IO_MANAGER_KEY
from ..storage.schema import CANDLES
from ..storage.store import STORE_KEY, CandleStore
from ..timeframes import iso, now_ms
from .checks import candle_check_results, candle_check_specs
from .delta import Stored, stored_in
from .ingest import ingest


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
        spans = [(w.start, w.end) for w in windows]

        # A candle counts as closed `settle_seconds` after its close: a clock ahead of the
        # exchange's, or an exchange still settling its last trades, never leaks a partial one.
        now = now_ms() - exchange.settings.settle_seconds * 1000
        before = stored_in(store, series, spans)

        result, totals = run_ingest(
            context, exchange, lambda client: ingest(series, spans, client, store, now, before)
        )
        after = stored_in(store, series, spans)
        for w, was, now_held in zip(windows, before, after, strict=True):
            figures = _partition_metadata(series, w, was, now_held, result.gaps)
            # A one-partition run's request figures are that partition's own.
            context.add_asset_metadata(
                {**figures, **(totals if len(windows) == 1 else {})}, partition_key=w.key
            )
        return MaterializeResult(
            check_results=candle_check_results(store, series, peers, spans, now, quality),
        )

    return _candles


def _partition_metadata(
    series: Series, window: Window, before: Stored, after: Stored, gaps: list
) -> dict:
    """What one partition holds after the run, and what the run changed in it."""
    tf = series.timeframe
    own_gaps = [
        (max(a, window.start), min(b, window.end))
        for a, b in gaps
        if a < window.end and b > window.start
    ]
    return {
        "rows_written": after.rows - before.rows,
        "rows_stored": after.rows,
        "first_candle": iso(after.first) if after.rows else "-",
        "last_candle": iso(after.last) if after.rows else "-",
        "missing_candles": sum((b - a) // tf.ms for a, b in own_gaps),
        "gaps": MetadataValue.md(
            "\n".join(f"- {iso(a)} to {iso(b)}" for a, b in own_gaps) or "none"
        ),
    }
