"""The ccxt boundary: paged, concurrent, retried OHLCV fetching under the shared budget.

Nothing is ever skipped: a page either arrives clean or the fetch fails (see `errors`).
"""

from __future__ import annotations

import asyncio
import difflib
import os
import random
from collections.abc import Callable
from dataclasses import dataclass

import ccxt
import ccxt.async_support as ccxt_async
import numpy as np
import polars as pl

from ..config import Connector, Series
from ..coordination import RequestBudget
from ..ops.metrics import Discard, Tally
from ..timeframes import from_ms
from .errors import (
    EMPTY_PAGE,
    PERMANENT,
    TEMPORARY,
    THROTTLED,
    FetchError,
    MalformedPage,
    one_line,
)
from .limits import budgeted
from .pages import UNIFIED, as_candles, clean_page
from .quirks import RAW_KLINES, RECENT_CANDLES_ONLY


@dataclass
class FetchStats:
    requests: int = 0
    weight: float = 0.0
    retries: int = 0
    seconds_waited: float = 0.0
    seconds_backing_off: float = 0.0


class ExchangeClient:
    """One async ccxt exchange for one step, sharing its connector's request budget; what it
    does is counted in `tally` (see `ops.metrics`)."""

    def __init__(
        self,
        connector: Connector,
        budget: RequestBudget,
        backoff_base: float = 0.5,
        tally: Tally | Discard | None = None,
        streaming: Callable[[type], type] | None = None,
    ):
        """`streaming` makes it a ccxt.pro exchange, its class wrapped by that function (hooks
        on its connections); its REST calls, the book snapshots among them, stay budgeted."""
        self.connector = connector
        self.streaming = streaming
        self.budget = budget
        self.backoff_base = backoff_base
        self.tally = tally or Discard()
        self.stats = FetchStats()
        self._exchange: ccxt_async.Exchange | None = None

    async def __aenter__(self) -> ExchangeClient:
        # ccxt's rate limiting stays on, but its throttle charges the shared budget.
        options = {**self.connector.ccxt, "enableRateLimit": True}
        for field_name, env in self.connector.credentials.items():
            if env not in os.environ:
                raise FetchError(
                    f"{self.connector.id}: environment variable {env} (credentials.{field_name}) is not set"
                )
            options[field_name] = os.environ[env]
        module = ccxt_async if self.streaming is None else _ccxt_pro()
        cls = budgeted(
            getattr(module, self.connector.id), self.connector.id, self._acquire, self._answered
        )
        if self.streaming is not None:
            cls = self.streaming(cls)
        self._exchange = cls(options)
        self._raw = RAW_KLINES.get(self.connector.id)
        try:
            await self.call("load markets", self._load_markets)
        except BaseException:
            await self._exchange.close()  # `async with` skips __aexit__ when __aenter__ fails
            raise
        return self

    async def _load_markets(self) -> None:
        """ccxt loads zero markets from a malformed body; that is a bad answer, not a delisting."""
        if not await self._exchange.load_markets(reload=True):
            raise MalformedPage("the exchange answered with no markets")

    async def __aexit__(self, *exc_info: object) -> None:
        if self._exchange is not None:
            await self._exchange.close()

    @property
    def exchange(self) -> ccxt_async.Exchange:
        """The ccxt exchange, markets loaded: its implicit API serves exchange-specific paging."""
        return self._exchange

    @property
    def page_size(self) -> int:
        spot = (self._exchange.features or {}).get("spot") or {}
        limit = (spot.get("fetchOHLCV") or {}).get("limit")
        return min(self.connector.page_size, limit or self.connector.page_size)

    def check_market(self, series: Series) -> None:
        exchange = self._exchange
        if series.symbol not in exchange.markets:
            raise FetchError(
                f"{exchange.id} does not list symbol {series.symbol!r}{_close_to(series.symbol, exchange)};"
                " fix markets[].symbol in the config (ccxt unified form, e.g. BTC/USDT)"
            )
        if series.data != "candles":
            return
        if exchange.timeframes and series.timeframe.name not in exchange.timeframes:
            raise FetchError(
                f"{exchange.id} has no {series.timeframe.name} candles; it offers"
                f" {', '.join(exchange.timeframes)}"
            )

    def check_reach(self, series: Series, start_ms: int, now_ms: int) -> None:
        """Fail at once, naming the earliest candle it serves, where an exchange keeps only its
        latest candles: years of "gaps" would be recorded otherwise."""
        served = RECENT_CANDLES_ONLY.get(self.connector.id)
        if served is None:
            return
        earliest = series.timeframe.floor(now_ms) - (served - 1) * series.timeframe.ms
        if start_ms < earliest:
            raise FetchError(
                f"{self.connector.id} serves only its latest {served} {series.timeframe.name}"
                f" candles, from {from_ms(earliest):%Y-%m-%d %H:%M} UTC; {series.name} asks from"
                f" {from_ms(start_ms):%Y-%m-%d %H:%M}: set the market's start on or after that"
            )

    async def fetch_range(self, series: Series, start_ms: int, end_ms: int) -> pl.DataFrame:
        """Every candle the exchange has with start <= open_time < end, sorted and unique."""
        span = self.page_size * series.timeframe.ms
        bounds = [(lo, min(lo + span, end_ms)) for lo in range(start_ms, end_ms, span)]
        gate = asyncio.Semaphore(self.connector.page_concurrency)

        async def one(lo: int, hi: int) -> list[np.ndarray]:
            async with gate:
                return await self._fetch_span(series, lo, hi)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(lo, hi)) for lo, hi in bounds]
        except* FetchError as failures:
            raise failures.exceptions[0] from None
        return as_candles([page for task in tasks for page in task.result()])

    async def _fetch_span(self, series: Series, lo: int, hi: int) -> list[np.ndarray]:
        """Page through [lo, hi) from the last good candle until the span is covered."""
        pages: list[np.ndarray] = []
        cursor = lo
        while cursor < hi:
            page = await self.call(
                _describe_range(series, cursor, hi),
                self._page,
                series,
                cursor,
                hi,
            )
            if not len(page):
                break
            pages.append(page)
            cursor = int(page[-1, 0]) + series.timeframe.ms
        return pages

    async def _page(self, series: Series, cursor: int, hi: int) -> np.ndarray:
        """Clean candles of [cursor, hi); empty only when the exchange proves the range has none."""
        raw, columns = await self._fetch(series, cursor, self.page_size, hi - 1)
        page, beyond = clean_page(raw, cursor, hi, columns)
        if len(page) or beyond:
            return page
        if raw:
            raise MalformedPage(f"a page of {len(raw)} candles all before {from_ms(cursor)}")
        rows, columns = await self._fetch(series, cursor, 1, None)
        probe, _ = clean_page(rows, cursor, 2**62, columns)
        if len(probe) and probe[0, 0] >= hi:
            return page  # an honest gap up to hi, e.g. exchange maintenance
        if not len(probe) and self._exchange.markets[series.symbol].get("active") is False:
            return page  # a delisted market has no candles after its last one
        raise MalformedPage(f"{EMPTY_PAGE} {_describe_range(series, cursor, hi)}")

    async def _fetch(self, series: Series, since: int, limit: int, until: int | None):
        """Raw rows of up to `limit` candles from `since` (to `until` inclusive), with the
        column positions of those rows."""
        raw = self._raw
        if raw is None:
            params = {"until": until} if until is not None else {}
            rows = await self._exchange.fetch_ohlcv(
                series.symbol, series.timeframe.name, since=since, limit=limit, params=params
            )
            return rows, UNIFIED
        request = {
            raw.symbol: self._exchange.market_id(series.symbol),
            raw.interval: self._exchange.timeframes[series.timeframe.name],
            raw.since: since,
            raw.limit: limit,
        }
        if until is not None:
            request[raw.until] = until
        return await getattr(self._exchange, raw.method)(request), raw.columns

    async def call(self, what: str, fn, *args):
        """Run `fn` (ccxt requests, each charged to the budget), retrying temporary failures
        with backoff."""
        attempts = self.connector.max_retries + 1
        for attempt in range(attempts):
            try:
                return await fn(*args)
            except PERMANENT as e:
                raise FetchError(f"{self.connector.id} {what}: {one_line(e)}") from None
            except (*TEMPORARY, MalformedPage) as e:
                backoff = self.backoff_base * 2**attempt * (0.5 + random.random())
                throttled = isinstance(e, THROTTLED)
                if throttled:
                    # Every process of this connector holds off, even when this request gives up.
                    self.budget.pause(max(self._retry_after() or 0.0, backoff))
                if attempt + 1 == attempts:
                    raise FetchError(
                        f"{self.connector.id} {what}: gave up after {attempts} attempts: "
                        f"{type(e).__name__}: {one_line(e)}"
                    ) from None
                self.stats.retries += 1
                self.tally.add("marketdata_retries", exchange=self.connector.id)
                if not throttled:
                    self.stats.seconds_backing_off += backoff
                    await asyncio.sleep(backoff)
            except ccxt.BaseError as e:  # anything else ccxt raises: unknown, so not retried
                raise FetchError(
                    f"{self.connector.id} {what}: {type(e).__name__}: {one_line(e)}"
                ) from None
        raise AssertionError("unreachable")

    async def _acquire(self, weight: float) -> None:
        """ccxt's throttle: every HTTP request takes its endpoint's weight first."""
        waited = await self.budget.acquire(weight)
        self.stats.seconds_waited += waited
        self.stats.requests += 1
        self.stats.weight += weight
        self.tally.add("marketdata_budget_wait_seconds", waited, exchange=self.connector.id)

    def _answered(self, endpoint: str, status: int | None) -> None:
        """Every HTTP request, by endpoint and status (`error`: no answer, e.g. a timeout)."""
        self.tally.add(
            "marketdata_requests",
            exchange=self.connector.id,
            endpoint=endpoint,
            status=str(status) if status is not None else "error",
        )

    def _retry_after(self) -> float | None:
        """ccxt does not read Retry-After itself: take it from the last response's headers."""
        headers = {k.lower(): v for k, v in (self._exchange.last_response_headers or {}).items()}
        value = str(headers.get("retry-after", "")).strip()
        return float(value) if value.isdigit() else None


def _close_to(symbol: str, exchange) -> str:
    """Markets the user may have meant: one whose exchange id is the symbol (Kraken's XBTUSD is
    ccxt's BTC/USD), else the same base with another quote or a close base."""

    def bare(value) -> str:
        return "".join(ch for ch in str(value).upper() if ch.isalnum())

    base, _, quote = symbol.upper().partition("/")
    markets = exchange.markets.values()
    near = [
        m["symbol"]
        for m in markets
        if bare(symbol) in {bare(m.get("id")), bare((m.get("info") or {}).get("altname"))}
    ]
    near = near or [m["symbol"] for m in markets if m.get("base") == base]
    if not near:
        close = set(
            difflib.get_close_matches(base, {m.get("base", "") for m in markets}, cutoff=0.75)
        )
        near = [m["symbol"] for m in markets if m.get("base") in close and m.get("quote") == quote]
    return f" (did you mean {', '.join(sorted(near)[:3])}?)" if near else ""


def _describe_range(series: Series, lo: int, hi: int) -> str:
    return f"{series.name} [{from_ms(lo):%Y-%m-%d %H:%M}, {from_ms(hi):%Y-%m-%d %H:%M})"


def _ccxt_pro():
    """ccxt.pro only where streaming: its classes cost every sync 6 MB."""
    import ccxt.pro

    return ccxt.pro
