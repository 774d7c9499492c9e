"""Indicator assets: RSI, EMA and MACD of each candle series, partitioned like its candles."""

import math

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    AutomationCondition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)

from ..automation.keys import candles_key, indicators_key
from ..automation.partitions import partition_windows, partitions_for
from ..candles.checks import structure_result
from ..config import Series
from ..storage.io_manager import IO_MANAGER_KEY
from ..storage.schema import INDICATORS
from ..storage.store import STORE_KEY, CandleStore
from ..timeframes import DAY_MS, HOUR_MS, now_ms
from .checks import indicator_check_specs, indicator_result
from .formulas import INDICATOR_COLUMNS, compute_indicators

# Bars read before a partition: TA-Lib's seeds then weigh less than 1e-18 in every value.
WARMUP_BARS = 1000
SHORTEST_WINDOW_MS = {"day": DAY_MS, "week": 7 * DAY_MS, "month": 28 * DAY_MS, "year": 365 * DAY_MS}

# Recompute a partition whenever candles it reads (its own or its warm-up's) change, once
# they are no longer being written and pass their blocking checks. An update seen while the
# partition runs is kept until the next request; one seen in the very tick after a request
# (when Dagster lets the reset win) still counts, through the bare `updated`.
_updated = AutomationCondition.any_deps_updated()
FOLLOW_CANDLES = (
    (_updated | _updated.since(AutomationCondition.newly_requested()))
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("follow candles")


def warmup_partitions(series: Series) -> int:
    """How many earlier candle partitions hold the warm-up bars of a partition."""
    bars = SHORTEST_WINDOW_MS[series.timeframe.partition] // series.timeframe.ms
    return math.ceil(WARMUP_BARS / bars)


def candles_with_warmup(store: CandleStore, series: Series, start_ms: int, end_ms: int):
    """Candles of [start, end) preceded by at least WARMUP_BARS stored candles, or all of them."""
    first_ms = store.summary(series).first_ms or start_ms
    bars = WARMUP_BARS
    while True:
        lo = max(start_ms - bars * series.timeframe.ms, first_ms)
        frame = store.read(series, lo, end_ms)
        if lo == first_ms or _rows_from(frame, start_ms) >= WARMUP_BARS:
            return frame
        bars *= 2


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
        automation_condition=FOLLOW_CANDLES,
        group_name=series.exchange,
        kinds={"polars", "arcticdb"},
        required_resource_keys={STORE_KEY},
        io_manager_key=IO_MANAGER_KEY,
        metadata={"series": series.name, "library": INDICATORS},
    )
    def _indicators(context: AssetExecutionContext) -> MaterializeResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        windows = partition_windows(context)
        start, end = windows[0][0], windows[-1][1]
        candles = candles_with_warmup(store, series, start, end)
        warmup = _rows_from(candles, start)
        structure = structure_result(candles.slice(warmup), series, start, end, now_ms())
        if not structure.passed:
            raise Failure(
                description=f"{series.name}: candles break their structure checks "
                f"({structure.description}); indicators are not computed over them"
            )
        values = compute_indicators(candles).slice(warmup)
        store.replace(series, values, start, end, INDICATORS)
        latest = values.tail(1).to_dicts()[0] if values.height else {}
        preview = {}
        if values.height and _wants_preview(values, end):
            from ..access.chart import preview_markdown  # matplotlib: paid only when drawing

            title = f"{series.symbol} {series.timeframe.name} {series.exchange}"
            preview["preview"] = MetadataValue.md(
                preview_markdown(candles.slice(warmup), values, title)
            )
        return MaterializeResult(
            metadata={
                "rows": values.height,
                "warmup_rows": warmup,
                **{c: _number(latest.get(c)) for c in INDICATOR_COLUMNS},
                **preview,
            },
            check_results=[indicator_result(values, warmup)],
        )

    return _indicators


def _rows_from(frame, start_ms: int) -> int:
    """Index of the first row at or after start."""
    return int((frame["open_time"].dt.epoch("ms") < start_ms).sum())


def _number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _wants_preview(values, end_ms: int) -> bool:
    """A chart for closed partitions, and for the one in progress once an hour: a preview on
    every minute's run would fill the event log with images."""
    last_open = int(values["open_time"].dt.epoch("ms")[-1])
    return end_ms <= now_ms() or last_open % HOUR_MS == 0
