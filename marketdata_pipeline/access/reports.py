"""What the HTTP API reports about the series: their stored ranges, freshness and health.

Freshness is measured as `marketdata status` and the freshness sensor measure it, on the data.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pandas as pd

from ..automation.freshness import lag_of
from ..config import Freshness, LoadedConfig, Series
from ..coordination import RequestBudget
from ..storage.schema import BOOK_METRICS, INDICATORS, LIBRARY_OF, TRADE_CANDLES
from ..storage.store import CandleStore

ISO = "%Y-%m-%dT%H:%M:%SZ"
# A collected series (books, tickers) is stale when its newest snapshot is older than this many
# periods: the rule of `automation.freshness.lag_of`.
STALE_PERIODS = 3


def describe(series: Series) -> dict[str, Any]:
    return {
        "series": series.name,
        "exchange": series.exchange,
        "symbol": series.symbol,
        "timeframe": series.timeframe.name if series.data == "candles" else None,
        "data": series.data,
        "start": str(series.start),
    }


def listing(store: CandleStore, series: Series) -> dict[str, Any]:
    """A series' stored range; a candle series also counts its indicators and, where its market
    collects trades, its candles built from them; an order book counts its computed metrics."""
    entry = {**describe(series), **_summary(store, series)}
    entry |= {"indicator_rows": None, "trade_candle_rows": None, "metric_rows": None}
    if series.data == "candles":
        entry["indicator_rows"] = store.summary(series, INDICATORS).rows
        if series.from_trades:
            entry["trade_candle_rows"] = store.summary(series, TRADE_CANDLES).rows
    if series.data == "order_book":
        entry["metric_rows"] = store.summary(series, BOOK_METRICS).rows
    return entry


def _summary(store: CandleStore, series: Series) -> dict[str, Any]:
    summary = store.summary(series, LIBRARY_OF[series.data])
    return {"first": iso(summary.first), "last": iso(summary.last), "rows": summary.rows}


def freshness(store: CandleStore, series: Series, now_ms: int, tolerance: Freshness) -> dict:
    """The lag `marketdata status` and the freshness sensor measure, on the same tolerance."""
    summary = store.summary(series, LIBRARY_OF[series.data])
    lag = lag_of(series, summary.last_ms, now_ms, tolerance)
    if series.every_seconds:
        allowed = STALE_PERIODS * series.every_seconds
    else:
        allowed = tolerance.candles * series.timeframe.ms / 1000 + tolerance.grace_seconds
    return {
        "last": iso(summary.last),
        "expected_last": iso_ms(lag.expected_ms),
        "lag_seconds": lag.lag_seconds,
        "tolerance_seconds": allowed,
        "stale": lag.stale,
    }


def storage_reachable(store: CandleStore) -> bool:
    try:
        store.library().has_symbol("health")
    except Exception:
        return False
    return True


def last_grant(budget: RequestBudget) -> str | None:
    """When the pipeline last took request budget for this exchange, i.e. sent a request: the
    last request any process sent, successful or not; `newest_candle` shows what arrived."""
    try:
        ts = budget.last_grant()
    except sqlite3.Error:
        return None
    return iso_ms(int(ts * 1000)) if ts is not None else None


def newest_candle(store: CandleStore, config: LoadedConfig, exchange: str) -> str | None:
    lasts = [store.summary(s).last for s in config.series if s.exchange == exchange]
    return iso(max((t for t in lasts if t is not None), default=None))


def iso(value: pd.Timestamp | None) -> str | None:
    return value.strftime(ISO) if value is not None else None


def iso_ms(ts_ms: int) -> str:
    return pd.Timestamp(ts_ms, unit="ms", tz="UTC").strftime(ISO)
