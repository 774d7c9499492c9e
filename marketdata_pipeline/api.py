"""Read-only HTTP API over the stored candles and indicators (FastAPI; docs at /docs).

Every read goes through CandleStore; request values only ever select a configured series and
a time range, so nothing from a request reaches storage paths or SQL.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import polars as pl
from arcticdb import QueryBuilder
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from .candles import STORE_KEY, exchange_resource_key
from .config import Freshness, LoadedConfig, Series
from .definitions import build_definitions
from .freshness import lag_of, stored_ms
from .indicator_assets import INDICATORS
from .store import CANDLES, CandleStore
from .timeframes import get_timeframe, now_ms, parse_time

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
ISO = "%Y-%m-%dT%H:%M:%SZ"


class PageQuery(BaseModel):
    """One series, a time range and a page of it."""

    model_config = ConfigDict(extra="forbid")

    exchange: str = Field(min_length=1, examples=["binance"])
    symbol: str = Field(min_length=1, description="any case", examples=["BTC/USDT"])
    timeframe: str = Field(min_length=1, examples=["1h"])
    start: str | None = Field(None, description="UTC date or ISO datetime, inclusive")
    end: str | None = Field(None, description="UTC date or ISO datetime, exclusive")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page")
    after: str | None = Field(
        None, description="cursor: `next_after` of the previous page (its last open_time)"
    )


def create_app(config: LoadedConfig) -> FastAPI:
    """The API of one project; storage and request budgets come from its Dagster resources."""
    resources = build_definitions(config).resources
    store: CandleStore = resources[STORE_KEY]
    budgets = {
        c.id: Path(resources[exchange_resource_key(c.id)].budget_path) for c in config.connectors
    }
    app = FastAPI(title="marketdata", description="Stored OHLCV candles and their indicators.")
    app.add_exception_handler(RequestValidationError, _one_line_validation_error)

    @app.get("/series", summary="Every configured series with its stored range")
    def series() -> list[dict[str, Any]]:
        return [
            {
                **_describe(s),
                **_summary(store, s),
                "indicator_rows": store.summary(s, INDICATORS).rows,
            }
            for s in config.series
        ]

    def page(library: str, request: Request, query: PageQuery) -> JSONResponse:
        chosen = _find(config, query.exchange, query.symbol, query.timeframe)
        start_ms, end_ms = _range(query.start, query.end)
        if query.after is not None:
            after_ms = _when(query.after, "after") + 1
            start_ms = after_ms if start_ms is None else max(start_ms, after_ms)
        frame, next_ms = read_page(store, chosen, library, start_ms, end_ms, query.limit)
        next_after = _iso_ms(next_ms) if next_ms is not None else None
        return JSONResponse(
            {
                "series": chosen.name,
                "count": frame.height,
                "rows": _rows(frame),
                "next_after": next_after,
                "next": str(request.url.include_query_params(after=next_after))
                if next_after
                else None,
            }
        )

    @app.get("/candles", summary="Stored candles of one series, a page at a time")
    def candles(request: Request, query: Annotated[PageQuery, Query()]) -> JSONResponse:
        return page(CANDLES, request, query)

    @app.get("/indicators", summary="Stored RSI, EMA and MACD of one series, a page at a time")
    def indicators(request: Request, query: Annotated[PageQuery, Query()]) -> JSONResponse:
        return page(INDICATORS, request, query)

    @app.get("/freshness", summary="How far each series lags the newest closed candle")
    def freshness() -> list[dict[str, Any]]:
        now = now_ms()
        tolerance = config.model.freshness
        return [{**_describe(s), **_freshness(store, s, now, tolerance)} for s in config.series]

    @app.get("/health", summary="Storage reachable (else 503) and each exchange's last request")
    def health() -> JSONResponse:
        reachable = _storage_reachable(store)
        body = {
            "status": "ok" if reachable else "storage unreachable",
            "storage_reachable": reachable,
            "exchanges": [
                {
                    "exchange": c.id,
                    "last_request": _last_grant(budgets[c.id], c.id),
                    "newest_candle": _newest_candle(store, config, c.id) if reachable else None,
                }
                for c in config.connectors
            ],
        }
        return JSONResponse(body, status_code=200 if reachable else 503)

    return app


def read_page(
    store: CandleStore,
    series: Series,
    library: str,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> tuple[pl.DataFrame, int | None]:
    """Up to `limit` rows of [start, end), and the last one's open time when more follow.

    The index of the next limit + 1 rows is read first, so a page costs the same anywhere in
    a long series instead of reading the rest of the range.
    """
    lib = store.library(library)
    if not lib.has_symbol(series.name):
        return store.read(series, start_ms, end_ms, library), None
    index = lib.read(
        series.name,
        date_range=_date_range(start_ms, end_ms),
        columns=[],
        query_builder=QueryBuilder().head(limit + 1),
        output_format="polars",
    ).data["open_time"]
    stop_ms = int(index.dt.epoch("ms")[limit]) if index.len() > limit else end_ms
    frame = store.read(series, start_ms, stop_ms, library).head(limit)
    more = index.len() > limit and frame.height > 0
    return frame, int(frame["open_time"].dt.epoch("ms")[-1]) if more else None


def _find(config: LoadedConfig, exchange: str, symbol: str, timeframe: str) -> Series:
    """The configured series, matching exchange and symbol case-insensitively."""
    try:
        get_timeframe(timeframe)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None
    for s in config.series:
        if (s.exchange, s.symbol.upper(), s.timeframe.name) == (
            exchange.lower(),
            symbol.upper(),
            timeframe,
        ):
            return s
    raise HTTPException(404, f"no configured series {exchange} {symbol} {timeframe}; see /series")


def _when(value: str, name: str) -> int:
    try:
        return parse_time(value, name)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None


def _range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    start_ms = _when(start, "start") if start is not None else None
    end_ms = _when(end, "end") if end is not None else None
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise HTTPException(
            400, f"start {start} is not before end {end}; start is inclusive, end exclusive"
        )
    return start_ms, end_ms


def _date_range(start_ms: int | None, end_ms: int | None) -> tuple:
    """ArcticDB ranges include both ends; ours exclude the end."""
    start = pd.Timestamp(start_ms, unit="ms", tz="UTC") if start_ms is not None else None
    end = pd.Timestamp(end_ms - 1, unit="ms", tz="UTC") if end_ms is not None else None
    return (start, end)


def _describe(series: Series) -> dict[str, Any]:
    return {
        "series": series.name,
        "exchange": series.exchange,
        "symbol": series.symbol,
        "timeframe": series.timeframe.name,
        "start": str(series.start),
    }


def _summary(store: CandleStore, series: Series) -> dict[str, Any]:
    summary = store.summary(series)
    return {"first": _iso(summary.first), "last": _iso(summary.last), "rows": summary.rows}


def _freshness(store: CandleStore, series: Series, now_ms: int, tolerance: Freshness) -> dict:
    """The lag `marketdata status` and the freshness sensor measure, on the same tolerance."""
    last = store.summary(series).last
    lag = lag_of(series, stored_ms(last), now_ms, tolerance)
    return {
        "last": _iso(last),
        "expected_last": _iso_ms(lag.expected_ms),
        "lag_seconds": lag.lag_seconds,
        "tolerance_seconds": tolerance.candles * series.timeframe.ms / 1000
        + tolerance.grace_seconds,
        "stale": lag.stale,
    }


def _storage_reachable(store: CandleStore) -> bool:
    try:
        store.library().has_symbol("health")
    except Exception:
        return False
    return True


def _last_grant(path: Path, exchange: str) -> str | None:
    """When the pipeline last took request budget for this exchange, i.e. sent a request.

    The budget file keeps the newest grant of every key (only older ones are pruned), so this
    is the last request any process sent, successful or not; `newest_candle` shows what arrived.
    """
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
            (ts,) = db.execute("SELECT MAX(ts) FROM grants WHERE key = ?", (exchange,)).fetchone()
    except sqlite3.Error:
        return None
    return _iso_ms(int(ts * 1000)) if ts is not None else None


def _newest_candle(store: CandleStore, config: LoadedConfig, exchange: str) -> str | None:
    lasts = [store.summary(s).last for s in config.series if s.exchange == exchange]
    return _iso(max((t for t in lasts if t is not None), default=None))


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.with_columns(pl.col(pl.Datetime).dt.strftime(ISO)).to_dicts()


def _iso(value: pd.Timestamp | None) -> str | None:
    return value.strftime(ISO) if value is not None else None


def _iso_ms(ts_ms: int) -> str:
    return pd.Timestamp(ts_ms, unit="ms", tz="UTC").strftime(ISO)


async def _one_line_validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 body is a list of objects; clients get `parameter: problem` instead."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"] if p != "query")
    return JSONResponse({"detail": f"{where}: {first['msg']}"}, status_code=422)
