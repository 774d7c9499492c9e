"""The trades asset: every trade of one market, a day per partition, fetched by id."""

import polars as pl
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ..automation.keys import trades_key
from ..automation.partitions import Window, partition_windows, partitions_for
from ..automation.steps import run_ingest
from ..config import Series
from ..exchange.quirks import RAW_TRADES
from ..exchange.resource import ExchangeResource, exchange_resource_key
from ..quality.checks import check_result, window_metadata
from ..quality.findings import merge_findings
from ..storage.io_manager import IO_MANAGER_KEY
from ..storage.schema import TRADES
from ..storage.store import STORE_KEY, CandleStore
from ..timeframes import iso, now_ms
from .ingest import ingest_trades
from .validation import trade_findings

COMPLETE = "complete"


def trades_asset(series: Series) -> AssetsDefinition:
    """The asset that keeps every settled trade of one market in ArcticDB."""
    resource_key = exchange_resource_key(series.exchange)
    key = trades_key(series)

    @asset(
        key=key,
        check_specs=[
            AssetCheckSpec(
                COMPLETE,
                asset=key,
                blocking=True,
                description="Unique ids in time order, positive prices and amounts, a known "
                "side, and no id missing that the exchange did not confirm missing.",
            )
        ],
        description=f"Every trade of {series.symbol} on {series.exchange}, by trade id.",
        partitions_def=partitions_for(series),
        backfill_policy=BackfillPolicy.single_run(),
        group_name=series.exchange,
        kinds={"ccxt", "arcticdb"},
        pool=series.exchange,
        required_resource_keys={STORE_KEY, resource_key},
        io_manager_key=IO_MANAGER_KEY,
        metadata={"series": series.name, "library": TRADES, "symbol": series.symbol},
    )
    def _trades(context: AssetExecutionContext) -> MaterializeResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        exchange: ExchangeResource = getattr(context.resources, resource_key)
        windows = partition_windows(context)
        spans = [(w.start, w.end) for w in windows]
        # Trades count as final `settle_seconds` after they happened, like candles.
        until = now_ms() - exchange.settings.settle_seconds * 1000
        before = {w.key: _stored(store, series, w).height for w in windows}
        result, totals = run_ingest(
            context, exchange, lambda client: ingest_trades(series, spans, client, store, until)
        )
        gaps = store.coverage(series, TRADES).gaps
        contiguous = getattr(RAW_TRADES.get(series.exchange), "contiguous", False)
        findings: list = []
        for w in windows:
            stored = _stored(store, series, w)
            findings = merge_findings(findings, trade_findings(stored, gaps, contiguous))
            figures = _partition_metadata(stored, before[w.key], result.gaps)
            context.add_asset_metadata(
                {**figures, **(totals if len(windows) == 1 else {})}, partition_key=w.key
            )
        check = check_result(
            COMPLETE,
            findings,
            sum(f.rows_checked for f in findings[:1]),
            error=True,
            extra=window_metadata(spans[0][0], spans[-1][1]),
        )
        return MaterializeResult(check_results=[check])

    return _trades


def _stored(store: CandleStore, series: Series, window: Window) -> pl.DataFrame:
    return store.read(series, window.start, window.end, library=TRADES)


def _partition_metadata(stored: pl.DataFrame, before: int, gaps: list) -> dict:
    """What one day holds after the run, and what the run added."""
    ids, times = stored["id"], stored["timestamp"].dt.epoch("ms")
    own = [(lo, hi) for lo, hi in gaps if ids.len() and ids.min() <= lo and hi <= ids.max() + 1]
    return {
        "trades_written": stored.height - before,
        "trades_stored": stored.height,
        "first_id": int(ids.min()) if ids.len() else -1,
        "last_id": int(ids.max()) if ids.len() else -1,
        "first_trade": iso(times.min()) if ids.len() else "-",
        "last_trade": iso(times.max()) if ids.len() else "-",
        "missing_ids": sum(hi - lo for lo, hi in own),
        "id_gaps": MetadataValue.md("\n".join(f"- ids {lo}..{hi - 1}" for lo, hi in own) or "none"),
    }
