"""HTTP layer: the middleware every protocol shares, and Binance's public spot endpoints.

Fault injection, request limits and statistics live in one middleware that only wraps
``/api/`` paths, so ``/sim/*`` control calls are never delayed, limited, broken or counted.
Each protocol (``state.exchange``) brings its routes and its way of limiting, refusing and
breaking answers; OKX's live in ``okx/``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from marketdata_pipeline.simulator import book, errors, ticker, trade_wire
from marketdata_pipeline.simulator.aggregate import Gaps
from marketdata_pipeline.simulator.control import add_control_routes
from marketdata_pipeline.simulator.errors import BinanceError
from marketdata_pipeline.simulator.exchange_info import exchange_info
from marketdata_pipeline.simulator.faults import FaultPlan, duplicate_row, malform
from marketdata_pipeline.simulator.intervals import INTERVALS
from marketdata_pipeline.simulator.klines import format_rows, select_klines, swap_high_low
from marketdata_pipeline.simulator.okx import routes as okx
from marketdata_pipeline.simulator.state import PLAN, Handler, ServerState
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.ws.hub import HUB, add_ws_routes

PageBuilder = Callable[[MarketSpec, Mapping[str, str], int, Gaps], trade_wire.Page]
Answer = Callable[
    [ServerState, web.Request, Handler, FaultPlan],
    Awaitable[tuple[web.StreamResponse, int, int]],
]

WEIGHTS = {
    "/api/v3/ping": 1,
    "/api/v3/time": 1,
    "/api/v3/exchangeInfo": 20,
    "/api/v3/klines": 2,
    **trade_wire.WEIGHTS,
}
QUERY_WEIGHTS: dict[str, Callable[[Mapping[str, str]], int]] = {
    "/api/v3/depth": book.depth_weight,
    "/api/v3/ticker/24hr": ticker.weight,
}
"""Endpoints whose weight depends on the request (levels asked for, symbols listed)."""
_JSON = "application/json"


def _json_response(body: str, status: int = 200, content_type: str = _JSON) -> web.Response:
    return web.Response(text=body, status=status, content_type=content_type)


def _error_response(error: BinanceError) -> web.Response:
    return _json_response(error.body(), status=error.status)


def build_app(state: ServerState) -> web.Application:
    """The aiohttp application serving one simulated exchange, in ``state.exchange``'s protocol."""
    add_routes, answer = _PROTOCOLS[state.exchange]

    @web.middleware
    async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        state.stats.begin()
        status, charged, now = "dropped", 0, state.clock()
        try:
            plan = state.injector.plan()
            request[PLAN] = plan
            if plan.delay_s:
                await asyncio.sleep(plan.delay_s)
            if plan.slow:
                state.stats.count_fault("slow")
            if plan.drop:
                state.stats.count_fault("drop")
                if request.transport is not None:
                    request.transport.close()
                raise asyncio.CancelledError
            response, charged, now = await answer(state, request, handler, plan)
            status = str(response.status)
            return response
        finally:
            state.stats.end(request.path, status, charged, now)

    app = web.Application(middlewares=[api_middleware])
    add_routes(app, state)
    add_control_routes(app, state)
    return app


def _add_binance_routes(app: web.Application, state: ServerState) -> None:
    api = _ApiRoutes(state)
    app.router.add_get("/api/v3/ping", api.ping)
    app.router.add_get("/api/v3/time", api.time)
    app.router.add_get("/api/v3/exchangeInfo", api.exchange_info)
    app.router.add_get("/api/v3/klines", api.klines)
    app.router.add_get("/api/v3/aggTrades", api.trades_endpoint(trade_wire.agg_trades_page))
    app.router.add_get("/api/v3/trades", api.trades_endpoint(trade_wire.recent_trades_page))
    app.router.add_get(
        "/api/v3/historicalTrades", api.trades_endpoint(trade_wire.historical_trades_page)
    )
    app.router.add_get("/api/v3/depth", api.depth)
    app.router.add_get("/api/v3/ticker/24hr", api.ticker_24hr)
    app.router.add_route("*", "/api/{tail:.*}", api.unknown)
    add_ws_routes(app, state)


async def _answer(
    state: ServerState, request: web.Request, handler: Handler, plan: FaultPlan
) -> tuple[web.StreamResponse, int, int]:
    """Rate limit, then inject server faults, then run the endpoint; returns (response, weight, now)."""
    now = state.clock()
    ip = request.remote or "127.0.0.1"
    limit = state.effective_weight_limit()
    by_query = QUERY_WEIGHTS.get(request.path)
    weight = by_query(request.query) if by_query else WEIGHTS.get(request.path, 1)
    admission = state.limiter.charge(ip, weight, now, limit, force_reject=plan.storm)
    if not admission.admitted:
        if plan.storm:
            state.stats.count_fault("storm")
        retry_after = (
            state.injector.faults.storm_retry_after_s if plan.storm else admission.retry_after_s
        )
        response = _error_response(errors.too_many_requests(ip, limit))
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
    elif state.injector.faults.reject:
        state.stats.count_fault(f"reject_{state.injector.faults.reject}")
        response = _error_response(errors.rejection(state.injector.faults.reject))
    elif plan.error_status is not None:
        state.stats.count_fault(f"http_{plan.error_status}")
        content_type, body = errors.server_error_body(plan.error_status)
        response = _json_response(body, plan.error_status, content_type)
    else:
        try:
            response = await handler(request)
        except BinanceError as error:
            response = _error_response(error)
        if plan.malformed and response.status == 200 and isinstance(response, web.Response):
            state.stats.count_fault(f"malformed_{plan.malformed}")
            body = response.text or ""
            response.text = malform(body, plan.malformed, "[]" if body.startswith("[") else "{}")
    response.headers["X-MBX-USED-WEIGHT-1M"] = str(admission.used)
    response.headers["X-MBX-USED-WEIGHT"] = str(admission.used)
    return response, admission.charged, now


class _ApiRoutes:
    """Handlers for the emulated Binance endpoints."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    async def ping(self, request: web.Request) -> web.Response:
        return _json_response("{}")

    async def time(self, request: web.Request) -> web.Response:
        return _json_response(json.dumps({"serverTime": self.state.clock()}))

    async def unknown(self, request: web.Request) -> web.Response:
        raise errors.not_found()

    async def exchange_info(self, request: web.Request) -> web.Response:
        wanted = self._wanted_symbols(request)
        specs = [self.state.specs[s] for s in wanted] if wanted else self.state.specs.values()
        doc = exchange_info(specs, self.state.clock(), self.state.effective_weight_limit())
        return _json_response(json.dumps(doc))

    def _wanted_symbols(self, request: web.Request) -> list[str]:
        single, many = request.query.get("symbol"), request.query.get("symbols")
        wanted = [single] if single else []
        if many:
            try:
                wanted += [str(s) for s in json.loads(many)]
            except (ValueError, TypeError):
                raise errors.illegal_parameter("symbols") from None
        if any(s not in self.state.specs for s in wanted):
            raise errors.invalid_symbol()
        return wanted

    def _spec(self, request: web.Request) -> MarketSpec:
        symbol = request.query.get("symbol")
        if not symbol:
            raise errors.missing_parameter("symbol")
        spec = self.state.specs.get(symbol.upper())
        if spec is None:
            raise errors.invalid_symbol()
        return spec

    def _page(self, request: web.Request, rows: list[str], limit: int) -> web.Response:
        """A JSON array of rows, with one duplicated out of order if the fault plan says so."""
        plan = request.get(PLAN)
        if plan is not None and plan.duplicate_at is not None and len(rows) > 1:
            self.state.stats.count_fault("duplicate")
            rows = duplicate_row(rows, plan.duplicate_at, limit)
        return _json_response("[" + ",".join(rows) + "]")

    async def klines(self, request: web.Request) -> web.Response:
        spec, interval_name = self._spec(request), request.query.get("interval")
        if not interval_name:
            raise errors.missing_parameter("interval")
        interval = INTERVALS.get(interval_name)
        if interval is None:
            raise errors.invalid_interval()
        limit = errors.page_limit(request.query)
        start = errors.int_param(request.query, "startTime")
        end = errors.int_param(request.query, "endTime")
        self.state.stats.count_klines(spec.market_id, interval.name)
        faults, now = self.state.injector.faults, self.state.clock()
        if start is not None and any(a <= start < b for a, b in faults.error_windows):
            self.state.stats.count_fault("error_window")
            content_type, body = errors.server_error_body(503)
            return _json_response(body, 503, content_type)

        def build() -> list[str]:
            candles = select_klines(spec, interval, start, end, limit, now, faults.maintenance)
            return format_rows(spec, interval, swap_high_low(candles, faults.bad_candles))

        rows = await asyncio.get_running_loop().run_in_executor(None, build)
        return self._page(request, rows, limit)

    async def depth(self, request: web.Request) -> web.Response:
        spec, limit, now = self._spec(request), book.depth_limit(request.query), self.state.clock()
        request.app[HUB].record_snapshot(spec.market_id, book.update_id_at(spec, now))
        loop = asyncio.get_running_loop()
        return _json_response(await loop.run_in_executor(None, book.depth_body, spec, limit, now))

    async def ticker_24hr(self, request: web.Request) -> web.Response:
        specs, single = ticker.wanted(self.state.specs, request.query)
        kind, now = ticker.ticker_type(request.query), self.state.clock()
        gaps = self.state.injector.faults.maintenance
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(None, ticker.tickers_body, specs, single, kind, now, gaps)
        return _json_response(body)

    def trades_endpoint(self, build: PageBuilder) -> Handler:
        """A handler serving ``build``'s page of trades (built off the event loop)."""

        async def handle(request: web.Request) -> web.Response:
            spec, query = self._spec(request), request.query
            faults, now = self.state.injector.faults, self.state.clock()
            loop = asyncio.get_running_loop()
            rows, limit = await loop.run_in_executor(
                None, build, spec, query, now, faults.maintenance
            )
            plan = request.get(PLAN)
            if plan is not None and plan.hole_at is not None and len(rows) > 5:
                self.state.stats.count_fault("trade_hole")
                at = 1 + int(plan.hole_at * (len(rows) - 5))
                rows = rows[:at] + rows[at + 3 :]
            return self._page(request, rows, limit)

        return handle


_PROTOCOLS: dict[str, tuple[Callable[[web.Application, ServerState], None], Answer]] = {
    "binance": (_add_binance_routes, _answer),
    "okx": (okx.add_routes, okx.answer),
}
"""Each protocol's routes and answer (limits, refusals, broken bodies), keyed by ccxt id."""
