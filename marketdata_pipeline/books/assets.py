"""Order book and ticker assets: a day of what the collector stored, compacted and checked,
and the book metrics computed from it. Collection itself is `marketdata stream`'s."""

import polars as pl
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from ..automation.conditions import FOLLOW_UPSTREAM
from ..automation.keys import market_key
from ..automation.partitions import Window, partition_windows, partitions_for
from ..config import Series
from ..quality.checks import check_result, window_metadata
from ..quality.findings import merge_findings
from ..storage.io_manager import IO_MANAGER_KEY
from ..storage.schema import BOOK_METRICS, LIBRARY_OF, book_schema
from ..storage.store import STORE_KEY, CandleStore
from ..timeframes import iso, now_ms
from .metrics import book_metrics
from .validation import book_findings, cadence_finding, ticker_findings

STRUCTURE, CADENCE = "structure", "cadence"


def polled_asset(series: Series) -> AssetsDefinition:
    """A day of order book snapshots or tickers of one market: compacts what the collector
    appended, and checks it (structure blocks the metrics; cadence is the completeness)."""
    key = market_key(series, series.data)
    library = LIBRARY_OF[series.data]
    what = "order book snapshots" if series.data == "order_book" else "24-hour tickers"

    @asset(
        key=key,
        check_specs=[
            AssetCheckSpec(STRUCTURE, asset=key, blocking=True, description=_RULES[series.data]),
            AssetCheckSpec(
                CADENCE,
                asset=key,
                description=f"The share of {series.every_seconds:g}-second slots holding a"
                " snapshot, from the first one ever collected (the completeness score).",
            ),
        ],
        description=f"{what.capitalize()} of {series.symbol} on {series.exchange}, collected"
        f" every {series.every_seconds:g} s by `marketdata stream`.",
        partitions_def=partitions_for(series),
        backfill_policy=BackfillPolicy.single_run(),
        group_name=series.exchange,
        kinds={"polars", "arcticdb"},
        required_resource_keys={STORE_KEY},
        io_manager_key=IO_MANAGER_KEY,
        metadata={"series": series.name, "library": library},
    )
    def _polled(context: AssetExecutionContext) -> MaterializeResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        store.compact(series, library)
        first_ever = store.summary(series, library).first_ms
        windows = partition_windows(context)
        rules, cadence = [], []
        for w in windows:
            rows = store.read(series, w.start, w.end, library)
            if not rows.width:  # never collected: no symbol, so no columns
                rows = pl.DataFrame(schema=book_schema(series.depth))
            found = (
                book_findings(rows, series.depth)
                if series.data == "order_book"
                else ticker_findings(rows)
            )
            rules = merge_findings(rules, found)
            # Slots on the collector's grid (epoch-aligned), from the first ever collected.
            every = int(series.every_seconds * 1000)
            start = max(w.start, (first_ever or w.end) // every * every)
            slots = cadence_finding(
                rows["local_timestamp"], start, min(w.end, now_ms()), series.every_seconds
            )
            cadence = merge_findings(cadence, [slots])
            context.add_asset_metadata(_day_metadata(rows, slots), partition_key=w.key)
        rows_checked = rules[0].rows_checked if rules else 0
        extra = window_metadata(windows[0].start, windows[-1].end)
        expected = cadence[0].rows_checked if cadence else 0
        completeness = 1.0 - (cadence[0].violations / expected if expected else 0.0)
        return MaterializeResult(
            check_results=[
                check_result(STRUCTURE, rules, rows_checked, error=True, extra=extra),
                check_result(
                    CADENCE,
                    cadence,
                    expected,
                    error=False,
                    extra={**extra, "completeness": round(completeness, 6)},
                ),
            ]
        )

    return _polled


_RULES = {
    "order_book": "Never crossed, prices strictly ordered per side, amounts > 0, no level "
    "gaps, update ids never going back, one update id for one book.",
    "ticker": "Bid <= ask, prices > 0.",
}


def book_metrics_asset(series: Series) -> AssetsDefinition:
    """Liquidity metrics of every stored snapshot of one order book, a day at a time."""
    key = market_key(series, "book_metrics")

    @asset(
        key=key,
        description=f"Mid, spread, microprice, imbalance and depth within 10/50/100 bps of"
        f" {series.symbol} on {series.exchange}, one row per book snapshot.",
        deps=[market_key(series, "order_book")],
        partitions_def=partitions_for(series),
        backfill_policy=BackfillPolicy.single_run(),
        automation_condition=FOLLOW_UPSTREAM,
        group_name=series.exchange,
        kinds={"polars", "arcticdb"},
        required_resource_keys={STORE_KEY},
        io_manager_key=IO_MANAGER_KEY,
        metadata={"series": series.name, "library": BOOK_METRICS},
    )
    def _metrics(context: AssetExecutionContext) -> MaterializeResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        for w in partition_windows(context):
            metrics = _metrics_of(store, series, w)
            store.replace(series, metrics, w.start, w.end, BOOK_METRICS)
            context.add_asset_metadata(
                {
                    "rows": metrics.height,
                    "median_spread_bps": _median(metrics, "spread_bps"),
                    "median_imbalance_5": _median(metrics, "imbalance_5"),
                },
                partition_key=w.key,
            )
        return MaterializeResult()

    return _metrics


def _metrics_of(store: CandleStore, series: Series, w: Window) -> pl.DataFrame:
    snapshots = store.read(series, w.start, w.end, LIBRARY_OF["order_book"])
    if snapshots.is_empty():
        return snapshots
    metrics = book_metrics(snapshots, series.depth)
    return metrics.select("local_timestamp", pl.exclude("local_timestamp"))


def _median(frame: pl.DataFrame, column: str) -> float:
    value = frame[column].median() if frame.height else None
    return round(float(value), 6) if value is not None else float("nan")


def _day_metadata(rows: pl.DataFrame, slots) -> dict:
    times = rows["local_timestamp"].dt.epoch("ms")
    return {
        "snapshots": rows.height,
        "completeness": round(slots.completeness, 6),
        "missing_slots": slots.violations,
        "first_snapshot": iso(times.min()) if rows.height else "-",
        "last_snapshot": iso(times.max()) if rows.height else "-",
    }


def polled_assets(series: Series) -> list[AssetsDefinition]:
    built = [polled_asset(series)]
    return built + ([book_metrics_asset(series)] if series.data == "order_book" else [])
