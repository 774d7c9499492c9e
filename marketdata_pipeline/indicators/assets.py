"""Indicator assets: RSI, EMA and MACD of each candle series, partitioned like its candles."""

import numpy as np
import polars as pl
from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)

from ..access.sparkline import MOST, preview_markdown
from ..automation.conditions import FOLLOW_UPSTREAM
from ..automation.keys import candles_key, indicators_key
from ..automation.partitions import Window, partition_windows, partitions_for
from ..candles.checks import structure_result
from ..config import Series
from ..quality.checks import check_result
from ..quality.findings import Finding, merge_findings
from ..storage.io_manager import IO_MANAGER_KEY
from ..storage.schema import INDICATORS
from ..storage.store import STORE_KEY, CandleStore
from ..timeframes import now_ms
from .checks import INDICATOR_VALUES, indicator_check_specs
from .formulas import INDICATOR_COLUMNS, compute_indicators
from .validation import indicator_findings
from .warmup import candles_with_warmup, rows_from, warmup_partitions


def indicator_asset(series: Series) -> AssetsDefinition:
    """The asset that keeps TA-Lib-exact indicators of one series beside its candles."""
    mapping = TimeWindowPartitionMapping(
        start_offset=-warmup_partitions(series), allow_nonexistent_upstream_partitions=True
    )

    key = indicators_key(series)

    @asset(
        key=key,
        check_specs=indicator_check_specs(key),
        description=(
            f"RSI(6/14/24), EMA(12/26) and MACD(12,26,9) of {series.symbol} "
            f"{series.timeframe.name} candles on {series.exchange}, equal to TA-Lib."
        ),
        deps=[AssetDep(candles_key(series), partition_mapping=mapping)],
        partitions_def=partitions_for(series),
        backfill_policy=BackfillPolicy.single_run(),
        automation_condition=FOLLOW_UPSTREAM,
        group_name=series.exchange,
        kinds={"polars", "arcticdb"},
        required_resource_keys={STORE_KEY},
        io_manager_key=IO_MANAGER_KEY,
        metadata={"series": series.name, "library": INDICATORS},
    )
    def _indicators(context: AssetExecutionContext) -> MaterializeResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        windows = partition_windows(context)
        findings: list[Finding] = []
        for w in windows:
            candles, values, recent = _compute_missing(store, series, w)
            if values is not None:
                findings = merge_findings(
                    findings, indicator_findings(values, candles.height - values.height)
                )
            metadata = _partition_metadata(store, series, w, values)
            title = f"{series.symbol} {series.timeframe.name} {series.exchange}"
            if recent is not None and (preview := preview_markdown(recent, title)):
                metadata["preview"] = MetadataValue.md(preview)
            context.add_asset_metadata(metadata, partition_key=w.key)
        rows = sum(f.rows_checked for f in findings[:1])
        return MaterializeResult(
            check_results=[check_result(INDICATOR_VALUES, findings, rows, error=True)]
        )

    return _indicators


def _compute_missing(store: CandleStore, series: Series, window: Window):
    """Indicators of the window from the first open time where candle and indicator rows differ
    (candle writes delete the indicator rows they change), with warm-up before it, and the
    latest candles' close beside their indicators for the preview; Nones when the window is
    complete. Under the series lock: no candle write can change the candles between reading
    them and storing what was computed from them."""
    with store.lock(series):
        candles = store.open_times(series, window.start, window.end)
        done = store.open_times(series, window.start, window.end, INDICATORS)
        if done.len() == candles.len():
            return None, None, None
        first = int(np.setxor1d(candles.to_numpy(), done.to_numpy())[0])
        frame = candles_with_warmup(store, series, first, window.end)
        warmup = rows_from(frame, first)
        structure = structure_result(frame.slice(warmup), series, first, window.end, now_ms())
        if not structure.passed:
            raise Failure(
                description=f"{series.name}: candles break their structure checks "
                f"({structure.description}); indicators are not computed over them"
            )
        computed = compute_indicators(frame)
        values = computed.slice(warmup)
        store.replace(series, values, first, window.end, INDICATORS)
    recent = pl.concat([frame.select("close"), computed], how="horizontal").tail(MOST)
    return frame, values, recent


def _partition_metadata(store: CandleStore, series: Series, window: Window, values) -> dict:
    """Rows of the partition, how many this run computed, and its latest values."""
    if values is None or not values.height:
        values = store.read(series, window.start, window.end, INDICATORS).tail(1)
        computed = 0
    else:
        computed = values.height
    latest = values.tail(1).to_dicts()[0] if values.height else {}
    return {
        "rows": store.open_times(series, window.start, window.end, INDICATORS).len(),
        "rows_computed": computed,
        **{c: _number(latest.get(c)) for c in INDICATOR_COLUMNS},
    }


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)
