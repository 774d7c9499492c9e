"""The ccxt boundary: paged, concurrent, retried OHLCV fetching with errors mapped to two kinds.

Temporary failures (network, 5xx, 429/418, malformed or suspiciously empty pages) are retried
with backoff; permanent ones (unknown symbol, bad credentials, bad request) fail at once with a
one-line message. Nothing is ever skipped: a page either arrives clean or the fetch fails.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import polars as pl
from dagster import ConfigurableResource

from .budget import RequestBudget
from .config import Connector, Series
from .store import CANDLE_SCHEMA
from .timeframes import from_ms

# Exchange quirks as data: where raw kline rows carry quote volume and trade count.
RAW_EXTRAS = {"binance": (7, 8), "binanceus": (7, 8)}
PERMANENT = (
    ccxt.AuthenticationError,
    ccxt.PermissionDenied,
    ccxt.AccountSuspended,
    ccxt.BadRequest,
    ccxt.NotSupported,
    ccxt.ArgumentsRequired,
)
TEMPORARY = (ccxt.NetworkError, ccxt.BadResponse)
THROTTLED = (ccxt.DDoSProtection, ccxt.RateLimitExceeded)


class FetchError(Exception):
    """A fetch that cannot succeed (or gave up): the message names exchange, series and cause."""


class MalformedPage(Exception):
    """A page that cannot be trusted: retried like a network error, never taken as the end."""


@dataclass
class FetchStats:
    requests: int = 0
    weight: int = 0
    retries: int = 0
    seconds_waited: float = 0.0
    errors: list[str] = field(default_factory=list)


class ExchangeClient:
    """One async ccxt exchange for one step, sharing its connector's request budget."""

    def __init__(self, connector: Connector, budget: RequestBudget, backoff_base: float = 0.5):
        self.connector = connector
        self.budget = budget
        self.backoff_base = backoff_base
        self.stats = FetchStats()
        self._paused_until = 0.0
        self._exchange: ccxt_async.Exchange | None = None

    async def __aenter__(self) -> ExchangeClient:
        options = {"enableRateLimit": False, **self.connector.ccxt}
        for field_name, env in self.connector.credentials.items():
            if env not in os.environ:
                raise FetchError(
                    f"{self.connector.id}: environment variable {env} (credentials.{field_name}) is not set"
                )
            options[field_name] = os.environ[env]
        self._exchange = getattr(ccxt_async, self.connector.id)(options)
        if self.connector.id in RAW_EXTRAS:
            self._keep_raw_extras(*RAW_EXTRAS[self.connector.id])
        await self._call("load markets", self._exchange.load_markets, weight=20)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._exchange is not None:
            await self._exchange.close()

    @property
    def page_size(self) -> int:
        spot = (self._exchange.features or {}).get("spot") or {}
        limit = (spot.get("fetchOHLCV") or {}).get("limit")
        return min(self.connector.page_size, limit or self.connector.page_size)

    def check_market(self, series: Series) -> None:
        exchange = self._exchange
        if series.symbol not in exchange.markets:
            raise FetchError(
                f"{exchange.id} does not list symbol {series.symbol!r}; fix markets[].symbol in the"
                " config (ccxt unified form, e.g. BTC/USDT)"
            )
        if exchange.timeframes and series.timeframe.name not in exchange.timeframes:
            raise FetchError(
                f"{exchange.id} has no {series.timeframe.name} candles; it offers"
                f" {', '.join(exchange.timeframes)}"
            )

    async def fetch_range(self, series: Series, start_ms: int, end_ms: int) -> pl.DataFrame:
        """Every candle the exchange has with start <= open_time < end, sorted and unique."""
        span = self.page_size * series.timeframe.ms
        bounds = [(lo, min(lo + span, end_ms)) for lo in range(start_ms, end_ms, span)]
        gate = asyncio.Semaphore(self.connector.page_concurrency)

        async def one(lo: int, hi: int) -> list[list]:
            async with gate:
                return await self._fetch_span(series, lo, hi)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(lo, hi)) for lo, hi in bounds]
        except* FetchError as failures:
            raise failures.exceptions[0] from None
        rows = [row for task in tasks for row in task.result()]
        return _frame(rows)

    async def _fetch_span(self, series: Series, lo: int, hi: int) -> list[list]:
        """Page through [lo, hi) from the last good candle until the span is covered."""
        rows: list[list] = []
        cursor = lo
        while cursor < hi:
            page = await self._call(
                _describe_range(series, cursor, hi),
                self._page,
                series,
                cursor,
                hi,
                weight=self.connector.rate_limit.ohlcv_weight,
            )
            if not page:
                break
            rows.extend(page)
            cursor = page[-1][0] + series.timeframe.ms
        return rows

    async def _page(self, series: Series, cursor: int, hi: int) -> list[list]:
        raw = await self._exchange.fetch_ohlcv(
            series.symbol, series.timeframe.name, since=cursor, limit=self.page_size,
            params={"until": hi - 1},
        )
        page, beyond = _clean(raw, cursor, hi)
        if page or beyond or not raw and not await self._has_candle_before(series, cursor, hi):
            return page
        raise MalformedPage(f"empty or unusable page for {_describe_range(series, cursor, hi)}")

    async def _has_candle_before(self, series: Series, cursor: int, hi: int) -> bool:
        """Tell an honestly empty range from a malformed body that ccxt parsed as []."""
        await self._acquire(self.connector.rate_limit.ohlcv_weight)
        probe = await self._exchange.fetch_ohlcv(series.symbol, series.timeframe.name, since=cursor, limit=1)
        return bool(probe) and probe[0][0] < hi

    async def _call(self, what: str, fn, *args, weight: int):
        """Run one request under the budget, retrying temporary failures with backoff."""
        attempts = self.connector.max_retries + 1
        for attempt in range(attempts):
            await self._acquire(weight)
            try:
                return await fn(*args)
            except PERMANENT as e:
                raise FetchError(f"{self.connector.id} {what}: {_one_line(e)}") from None
            except (*TEMPORARY, MalformedPage) as e:
                self.stats.errors.append(f"{type(e).__name__}: {_one_line(e)}")
                if attempt + 1 == attempts:
                    raise FetchError(
                        f"{self.connector.id} {what}: gave up after {attempts} attempts: "
                        f"{type(e).__name__}: {_one_line(e)}"
                    ) from None
                self.stats.retries += 1
                self._pause(self._retry_after(e, attempt))
        raise AssertionError("unreachable")

    async def _acquire(self, weight: int) -> None:
        delay = self._paused_until - time.monotonic()
        if delay > 0:
            self.stats.seconds_waited += delay
            await asyncio.sleep(delay)
        self.stats.seconds_waited += await self.budget.acquire(weight)
        self.stats.requests += 1
        self.stats.weight += weight

    def _retry_after(self, error: Exception, attempt: int) -> float:
        backoff = self.backoff_base * 2**attempt * (0.5 + random.random())
        if isinstance(error, THROTTLED):
            headers = self._exchange.last_response_headers or {}
            retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after")
            if retry_after and retry_after.strip().isdigit():
                return max(float(retry_after), backoff)
        return backoff

    def _pause(self, seconds: float) -> None:
        """Slow the whole connector down, not just the one request."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _keep_raw_extras(self, quote_index: int, trades_index: int) -> None:
        parse = self._exchange.parse_ohlcv

        def parse_with_extras(raw, market=None):
            row = parse(raw, market)
            if isinstance(raw, list) and len(raw) > trades_index:
                row += [_number(raw[quote_index]), _number(raw[trades_index])]
            return row

        self._exchange.parse_ohlcv = parse_with_extras


def _clean(raw: list, cursor: int, hi: int) -> tuple[list[list], bool]:
    """Sorted, unique rows inside [cursor, hi), and whether the page reached past hi.

    A row with a missing or non-finite value makes the whole page malformed.
    """
    if not isinstance(raw, list):
        raise MalformedPage(f"page is a {type(raw).__name__}, not a list")
    rows: dict[int, list] = {}
    beyond = False
    for row in raw:
        if not isinstance(row, list) or len(row) < 6 or any(not _finite(v) for v in row[:6]):
            raise MalformedPage(f"malformed candle {row!r}")
        if cursor <= row[0] < hi:
            rows.setdefault(int(row[0]), row)
        beyond = beyond or row[0] >= hi
    return [rows[t] for t in sorted(rows)], beyond


def _frame(rows: list[list]) -> pl.DataFrame:
    data = [(*r[:6], r[6] if len(r) > 6 else None, r[7] if len(r) > 7 else None) for r in rows]
    frame = pl.DataFrame(
        data,
        schema={"open_time": pl.Int64, **{k: v for k, v in CANDLE_SCHEMA.items() if k != "open_time"}},
        orient="row",
    )
    return frame.with_columns(pl.col("open_time").cast(pl.Datetime("ms", "UTC"))).unique(
        "open_time", keep="first", maintain_order=True
    ).sort("open_time")


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: object) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _describe_range(series: Series, lo: int, hi: int) -> str:
    return f"{series.name} [{from_ms(lo):%Y-%m-%d %H:%M}, {from_ms(hi):%Y-%m-%d %H:%M})"


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__


class ExchangeResource(ConfigurableResource):
    """The ccxt client of one connector; its budget file is shared by every step and run."""

    connector: dict[str, Any]
    budget_path: str

    @property
    def settings(self) -> Connector:
        return Connector.model_validate(self.connector)

    def budget(self) -> RequestBudget:
        limit = self.settings.rate_limit
        return RequestBudget(self.budget_path, self.settings.id, limit.weight, limit.period_seconds)

    def client(self) -> ExchangeClient:
        return ExchangeClient(self.settings, self.budget())
