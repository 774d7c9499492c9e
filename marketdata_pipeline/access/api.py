"""Read-only HTTP API over the stored candles, indicators, trades, order books and tickers
(FastAPI; docs at /docs).

Every read goes through CandleStore; request values only ever select a configured series and
a time range, so nothing from a request reaches storage paths or SQL.

The docs pages (/docs, /redoc) load Swagger UI and ReDoc from files shipped in the
fastapi-offline package, served by the API itself, instead of FastAPI's default CDN: they
work on machines without internet access.
"""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field

from ..config import ConfigError, LoadedConfig, Series
from ..exchange.limits import shared_budget
from ..storage.schema import CANDLES, INDICATORS, LIBRARY_OF, TRADE_CANDLES
from ..storage.store import store_for
from ..timeframes import get_timeframe, now_ms, parse_time
from .books import book_frame, checked_depth
from .markets import NotCollected, market_series
from .pages import Cursor, read_page
from .probes import add_probes
from .reports import (
    describe,
    iso_ms,
    last_grant,
    listing,
    newest_candle,
    storage_reachable,
)
from .reports import freshness as freshness_of

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
ISO = "%Y-%m-%dT%H:%M:%SZ"
ISO_MS = "%Y-%m-%dT%H:%M:%S%.3fZ"  # trades and snapshots: several a second


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


class SnapshotQuery(RangeQuery):
    """Snapshots of one market by receive time (`local_timestamp`), a page at a time."""

    after: str | None = Field(
        None, description="cursor: `next_after` of the previous page (its last local_timestamp)"
    )


class BookQuery(SnapshotQuery):
    depth: int | None = Field(
        None, ge=0, le=5000, description="levels per side, 0 to the configured depth (default)"
    )
    metrics: bool = Field(
        False, description="each snapshot's liquidity metrics beside it (null until computed)"
    )


def create_app(config: LoadedConfig) -> FastAPI:
    """The API of one project: its store and its connectors' request budgets."""
    store = store_for(config)
    app = FastAPIOffline(
        title="marketdata",
        description="Stored OHLCV candles, indicators, trades, order books and tickers.",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )
    app.add_exception_handler(RequestValidationError, _one_line_validation_error)

    @app.get(
        "/series",
        summary="Every configured series (candles, trades, books, tickers) with its stored range",
    )
    def series() -> list[dict[str, Any]]:
        return [listing(store, s) for s in config.all_series]

    def page(library: str, request: Request, query: PageQuery) -> JSONResponse:
        chosen = _find(config, query.exchange, query.symbol, query.timeframe)
        if library == TRADE_CANDLES:
            _collected(config, query.exchange, query.symbol, "trades")
        start_ms, end_ms = _range(query.start, query.end)
        if query.after is not None:
            after_ms = _when(query.after, "after") + 1
            start_ms = after_ms if start_ms is None else max(start_ms, after_ms)
        frame, next_ms = store.read_page(chosen, start_ms, end_ms, query.limit, library)
        next_after = iso_ms(next_ms) if next_ms is not None else None
        return _page(request, chosen, _rows(frame), next_after)

    @app.get("/candles", summary="Stored candles of one series, a page at a time")
    def candles(request: Request, query: Annotated[CandleQuery, Query()]) -> JSONResponse:
        return page(TRADE_CANDLES if query.from_trades else CANDLES, request, query)

    @app.get("/indicators", summary="Stored RSI, EMA and MACD of one series, a page at a time")
    def indicators(request: Request, query: Annotated[PageQuery, Query()]) -> JSONResponse:
        return page(INDICATORS, request, query)

    def market_page(chosen: Series, request: Request, query, shape=None) -> JSONResponse:
        """A page of a market's trades, book snapshots or tickers after the query's cursor."""
        start_ms, end_ms = _range(query.start, query.end)
        keyed = chosen.data == "trades"  # several trades can share a millisecond
        after = None if query.after is None else _valid(Cursor.parse, query.after, keyed)
        library = LIBRARY_OF[chosen.data]
        frame, cursor = read_page(store, chosen, library, start_ms, end_ms, query.limit, after)
        frame = shape(frame) if shape else frame
        rows = frame.with_columns(pl.col(pl.Datetime).dt.strftime(ISO_MS)).to_dicts()
        return _page(request, chosen, rows, str(cursor) if cursor else None)

    @app.get("/trades", summary="Stored trades of one market, a page at a time")
    def trades(request: Request, query: Annotated[TradeQuery, Query()]) -> JSONResponse:
        chosen = _collected(config, query.exchange, query.symbol, "trades")
        return market_page(chosen, request, query)

    @app.get("/order_books", summary="Stored book snapshots of one market, a page at a time")
    def order_books(request: Request, query: Annotated[BookQuery, Query()]) -> JSONResponse:
        chosen = _collected(config, query.exchange, query.symbol, "order_book")
        depth = _valid(checked_depth, chosen, query.depth)
        return market_page(
            chosen,
            request,
            query,
            lambda snapshots: book_frame(store, chosen, snapshots, depth, query.metrics),
        )

    @app.get("/tickers", summary="Stored 24-hour tickers of one market, a page at a time")
    def tickers(request: Request, query: Annotated[SnapshotQuery, Query()]) -> JSONResponse:
        chosen = _collected(config, query.exchange, query.symbol, "ticker")
        return market_page(chosen, request, query)

    @app.get("/freshness", summary="How far each series lags its newest candle, trade or snapshot")
    def freshness() -> list[dict[str, Any]]:
        now = now_ms()
        tolerance = config.model.freshness
        return [
            {**describe(s), **freshness_of(store, s, now, tolerance)} for s in config.all_series
        ]

    @app.get("/health", summary="Liveness (always 200): storage and each exchange's last request")
    def health() -> JSONResponse:
        reachable = storage_reachable(store)
        body = {
            "status": "ok",
            "storage_reachable": reachable,
            "exchanges": [
                {
                    "exchange": c.id,
                    "last_request": last_grant(shared_budget(config, c)),
                    "newest_candle": newest_candle(store, config, c.id) if reachable else None,
                }
                for c in config.connectors
            ],
        }
        return JSONResponse(body)  # the process answers; `/ready` fails on storage

    add_probes(app, config, store)
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


def _collected(config: LoadedConfig, exchange: str, symbol: str, data: str) -> Series:
    """The market's trades, order book or ticker: 404 if it is not configured or collects none."""
    try:
        return market_series(config, exchange, symbol, data)
    except NotCollected as e:
        raise HTTPException(404, str(e)) from None
    except ConfigError:
        raise HTTPException(404, f"no configured market {exchange} {symbol}; see /series") from None


def _valid(check, *args):
    """`check(*args)`, whose ValueError is a bad parameter: a 400 with its one line."""
    try:
        return check(*args)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None


def _when(value: str, name: str) -> int:
    return _valid(parse_time, value, name)


def _range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    start_ms = _when(start, "start") if start is not None else None
    end_ms = _when(end, "end") if end is not None else None
    if start_ms is not None and end_ms is not None and start_ms >= end_ms:
        raise HTTPException(
            400, f"start {start} is not before end {end}; start is inclusive, end exclusive"
        )
    return start_ms, end_ms


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.with_columns(pl.col(pl.Datetime).dt.strftime(ISO)).to_dicts()


async def _one_line_validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 body is a list of objects; clients get `parameter: problem` instead."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"] if p != "query")
    return JSONResponse({"detail": f"{where}: {first['msg']}"}, status_code=422)
