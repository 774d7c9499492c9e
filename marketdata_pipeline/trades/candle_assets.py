"""Candles built from trades: one asset per timeframe of a market that collects trades,
partitioned like the exchange's candles of that timeframe and checked against them."""

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
from ..automation.keys import trade_candles_key, trades_key
from ..automation.partitions import partition_windows, partitions_for
from ..config import Series
from ..quality.checks import check_result, window_metadata
from ..quality.findings import MAX_OFFENDERS, Finding
from ..storage.io_manager import IO_MANAGER_KEY
from ..storage.schema import CANDLES, TRADE_CANDLES, TRADES, empty_frame
from ..storage.store import STORE_KEY, CandleStore
from ..timeframes import DAY_MS, TIMEFRAMES, iso
from .candles import combine, trade_candles
from .validation import candle_mismatches

MATCHES = "matches_exchange_candles"


def trade_candle_asset(series: Series, trades: Series) -> AssetsDefinition:
    """Candles of `series`' timeframe built from the `trades` of its market."""
    key = trade_candles_key(series)

    @asset(
        key=key,
        check_specs=[
            AssetCheckSpec(
                MATCHES,
                asset=key,
                description="Every bucket equals the exchange's own candle where both are "
                "stored: OHLC and trade count exactly, volumes within 1e-9.",
            )
        ],
        description=f"{series.timeframe.name} candles of {series.symbol} on {series.exchange}, "
        "built from its trades; buckets without trades are rows with zero volume.",
        deps=[trades_key(trades)],
        partitions_def=partitions_for(series),
        backfill_policy=BackfillPolicy.single_run(),
        automation_condition=FOLLOW_UPSTREAM,
        group_name=series.exchange,
        kinds={"polars", "arcticdb"},
        required_resource_keys={STORE_KEY},
        io_manager_key=IO_MANAGER_KEY,
        metadata={"series": series.name, "library": TRADE_CANDLES},
    )
    def _trade_candles(context: AssetExecutionContext) -> MaterializeResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        windows = partition_windows(context)
        mismatches = []
        compared = 0
        for w in windows:
            built = build_trade_candles(store, series, trades, w.start, w.end)
            store.replace(series, built, w.start, w.end, TRADE_CANDLES)
            exchange = store.read(series, w.start, w.end, CANDLES)
            compared += built.join(exchange, on="open_time").height
            mismatches.append(candle_mismatches(built, exchange))
            context.add_asset_metadata(_partition_metadata(built), partition_key=w.key)
        differing = pl.concat(mismatches)
        finding = Finding(
            "differs_from_exchange",
            compared,
            differing.height,
            [f"{t:%Y-%m-%d %H:%M} ({f})" for t, f in differing.head(MAX_OFFENDERS).iter_rows()],
        )
        extra = {"buckets_compared": compared, **window_metadata(windows[0].start, windows[-1].end)}
        return MaterializeResult(
            check_results=[check_result(MATCHES, [finding], compared, error=True, extra=extra)]
        )

    return _trade_candles


def build_trade_candles(
    store: CandleStore, series: Series, trades: Series, start_ms: int, end_ms: int
) -> pl.DataFrame:
    """The candles of [start, end) whose whole bucket lies in trades known complete, built a
    day of trades at a time (a day is the most a bucket reads, weekly ones combine days)."""
    tf = series.timeframe
    base = tf if tf.ms <= DAY_MS else TIMEFRAMES["1d"]
    parts = []
    for lo, hi in _complete(store, trades, start_ms, end_ms):
        days = [(max(d, lo), min(d + DAY_MS, hi)) for d in range(lo - lo % DAY_MS, hi, DAY_MS)]
        base_candles = pl.concat(
            trade_candles(store.read(trades, a, b, TRADES), base, a, b) for a, b in days
        )
        built = combine(base_candles, tf, lo, hi)
        parts.append(built.filter(pl.col("open_time").dt.epoch("ms") + tf.ms <= hi))
    return pl.concat(parts) if parts else empty_frame(TRADE_CANDLES)


def _complete(store: CandleStore, trades: Series, start: int, end: int) -> list[tuple[int, int]]:
    covered = store.coverage(trades, TRADES).ranges
    return [(max(lo, start), min(hi, end)) for lo, hi in covered if lo < end and hi > start]


def _partition_metadata(built: pl.DataFrame) -> dict:
    traded = built.filter(pl.col("trades") > 0)
    times = built["open_time"].dt.epoch("ms")
    return {
        "rows": built.height,
        "empty_buckets": built.height - traded.height,
        "trades": int(built["trades"].sum()),
        "first_candle": iso(times.min()) if built.height else "-",
        "last_candle": iso(times.max()) if built.height else "-",
    }
