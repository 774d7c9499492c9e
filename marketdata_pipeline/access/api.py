"""Read-only HTTP API over the stored candles, indicators and trades (FastAPI; docs at /docs).

Every read goes through CandleStore; request values only ever select a configured series and
a time range, so nothing from a request reaches storage paths or SQL.

The docs pages (/docs, /redoc) load Swagger UI and ReDoc from files shipped in the
fastapi-offline package, served by the API itself, instead of FastAPI's default CDN: they
work on machines without internet access.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import polars as pl
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field

from ..automation.freshness import lag_of
from ..config import ConfigError, Freshness, LoadedConfig, Series
from ..exchange.budget import budget_path
from ..storage.schema import CANDLES, INDICATORS, LIBRARY_OF, TRADE_CANDLES
from ..storage.store import CandleStore, store_for
from ..timeframes import get_timeframe, now_ms, parse_time
from .trades import NoTrades, TradeCursor, read_trade_page, trade_series

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
ISO = "%Y-%m-%dT%H:%M:%SZ"
ISO_MS = "%Y-%m-%dT%H:%M:%S%.3fZ"  # trades: several a second


class RangeQuery(BaseModel):
    """One market, a time range and a page of it."""

    model_config = ConfigDict(extra="forbid")

    exchange: str = Field(min_length=1, examples=["binance"])
    symbol: str = Field(min_length=1, description="any case", examples=["BTC/USDT"])
    start: str | None = Field(None, description="UTC date or ISO datetime, inclusive")
    end: str | None = Field(None, description="UTC date or ISO datetime, exclusive")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page")


class PageQuery(RangeQuery):
    """One series, a time range and a page of it."""

    timeframe: str = Field(min_length=1, examples=["1h"])
    after: str | None = Field(
        None, description="cursor: `next_after` of the previous page (its last open_time)"
    )


class CandleQuery(PageQuery):
    from_trades: bool = Field(False, description="the candles built from the market's trades")


class TradeQuery(RangeQuery):
    after: str | None = Field(
        None, description="cursor: `next_after` of the previous page (`<trade id>@<time>`)"
    )


def create_app(config: LoadedConfig) -> FastAPI:
    """The API of one project: its store and its connectors' request budgets."""
    store = store_for(config)
    budgets = budget_path(config)
    app = FastAPIOffline(
        title="marketdata",
        description="Stored OHLCV candles and their indicators.",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )
    app.add_exception_handler(RequestValidationError, _one_line_validation_error)

    @app.get("/series", summary="Every configured series (candles, trades) with its stored range")
    def series() -> list[dict[str, Any]]:
        return [_listing(store, s) for s in [*config.series, *config.trade_series]]

    def page(library: str, request: Request, query: PageQuery) -> JSONResponse:
        chosen = _find(config, query.exchange, query.symbol, query.timeframe)
        if library == TRADE_CANDLES:
            _trades_of(config, query.exchange, query.symbol)
        start_ms, end_ms = _range(query.start, query.end)
        if query.after is not None:
            after_ms = _when(query.after, "after") + 1
            start_ms = after_ms if start_ms is None else max(start_ms, after_ms)
        frame, next_ms = store.read_page(chosen, start_ms, end_ms, query.limit, library)
        next_after = _iso_ms(next_ms) if next_ms is not None else None
        return _page(request, chosen, _rows(frame), next_after)

    @app.get("/candles", summary="Stored candles of one series, a page at a time")
    def candles(request: Request, query: Annotated[CandleQuery, Query()]) -> JSONResponse:
        return page(TRADE_CANDLES if query.from_trades else CANDLES, request, query)

    @app.get("/indicators", summary="Stored RSI, EMA and MACD of one series, a page at a time")
    def indicators(request: Request, query: Annotated[PageQuery, Query()]) -> JSONResponse:
        return page(INDICATORS, request, query)

    @app.get("/trades", summary="Stored trades of one market, a page at a time")
    def trades(request: Request, query: Annotated[TradeQuery, Query()]) -> JSONResponse:
        chosen = _trades_of(config, query.exchange, query.symbol)
        start_ms, end_ms = _range(query.start, query.end)
        try:
            after = TradeCursor.parse(query.after) if query.after is not None else None
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        frame, cursor = read_trade_page(store, chosen, start_ms, end_ms, query.limit, after)
        rows = frame.with_columns(pl.col(pl.Datetime).dt.strftime(ISO_MS)).to_dicts()
        return _page(request, chosen, rows, str(cursor) if cursor else None)

    @app.get("/freshness", summary="How far each series lags its newest closed candle (or trade)")
    def freshness() -> list[dict[str, Any]]:
        now = now_ms()
        tolerance = config.model.freshness
        return [
            {**_describe(s), **_freshness(store, s, now, tolerance)}
            for s in [*config.series, *config.trade_series]
        ]

    @app.get("/health", summary="Storage reachable (else 503) and each exchange's last request")
    def health() -> JSONResponse:
        reachable = _storage_reachable(store)
        body = {
            "status": "ok" if reachable else "storage unreachable",
            "storage_reachable": reachable,
            "exchanges": [
                {
                    "exchange": c.id,
                    "last_request": _last_grant(budgets, c.id),
                    "newest_candle": _newest_candle(store, config, c.id) if reachable else None,
                }
                for c in config.connectors
            ],
        }
        return JSONResponse(body, status_code=200 if reachable else 503)

    return app


def _find(config: LoadedConfig, exchange: str, symbol: str, timeframe: str) -> Series:
    """The configured series (case-insensitive): 400 for an unknown timeframe, else 404."""
    try:
        get_timeframe(timeframe)
        return config.select(exchange, symbol, timeframe)[0]
    except ValueError as e:
        raise HTTPException(400, str(e)) from None
    except ConfigError:
        raise HTTPException(
            404, f"no configured series {exchange} {symbol} {timeframe}; see /series"
        ) from None


def _page(request: Request, series: Series, rows: list[dict], next_after: str | None):
    """A page of rows, with the cursor and the URL of the next page if more follow."""
    return JSONResponse(
        {
            "series": series.name,
            "count": len(rows),
            "rows": rows,
            "next_after": next_after,
            "next": str(request.url.include_query_params(after=next_after)) if next_after else None,
        }
    )


def _trades_of(config: LoadedConfig, exchange: str, symbol: str) -> Series:
    """The market's trades: 404 if it is not configured or collects none."""
    try:
        return trade_series(config, exchange, symbol)
    except NoTrades as e:
        raise HTTPException(404, str(e)) from None
    except ConfigError:
        raise HTTPException(404, f"no configured market {exchange} {symbol}; see /series") from None


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


def _describe(series: Series) -> dict[str, Any]:
    return {
        "series": series.name,
        "exchange": series.exchange,
        "symbol": series.symbol,
        "timeframe": series.timeframe.name if series.data == "candles" else None,
        "data": series.data,
        "start": str(series.start),
    }


def _listing(store: CandleStore, series: Series) -> dict[str, Any]:
    """A series' stored range; a candle series also counts its indicators and, where its market
    collects trades, its candles built from them."""
    entry = {**_describe(series), **_summary(store, series)}
    entry |= {"indicator_rows": None, "trade_candle_rows": None}
    if series.data == "candles":
        entry["indicator_rows"] = store.summary(series, INDICATORS).rows
        if series.from_trades:
            entry["trade_candle_rows"] = store.summary(series, TRADE_CANDLES).rows
    return entry


def _summary(store: CandleStore, series: Series) -> dict[str, Any]:
    summary = store.summary(series, LIBRARY_OF[series.data])
    return {"first": _iso(summary.first), "last": _iso(summary.last), "rows": summary.rows}


def _freshness(store: CandleStore, series: Series, now_ms: int, tolerance: Freshness) -> dict:
    """The lag `marketdata status` and the freshness sensor measure, on the same tolerance."""
    summary = store.summary(series, LIBRARY_OF[series.data])
    lag = lag_of(series, summary.last_ms, now_ms, tolerance)
    return {
        "last": _iso(summary.last),
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
