"""OKX v5's public endpoints, and how OKX limits, refuses and breaks answers.

Limits are per endpoint and client IP, as OKX's docs state for each endpoint: requests per
sliding 2 seconds (``public/instruments`` also per instrument type). A request over a limit
gets HTTP 429 with code 50011 and no ``Retry-After``; refused requests are not counted. A
``weight_limit`` fault replaces every endpoint's limit; a 429 storm adds ``Retry-After``.
On this protocol every admitted request weighs 1 in the statistics.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from marketdata_pipeline.simulator.faults import FaultPlan, duplicate_row
from marketdata_pipeline.simulator.klines import swap_high_low
from marketdata_pipeline.simulator.okx import wire
from marketdata_pipeline.simulator.okx.bars import BARS
from marketdata_pipeline.simulator.okx.candles import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    format_rows,
    select_page,
)
from marketdata_pipeline.simulator.okx.wire import OkxError
from marketdata_pipeline.simulator.state import PLAN, Handler, ServerState
from marketdata_pipeline.simulator.symbols import MarketSpec

WINDOW_MS = 2_000
LIMITS = {
    "/api/v5/public/time": 10,
    "/api/v5/public/instruments": 20,
    "/api/v5/market/candles": 40,
    "/api/v5/market/history-candles": 20,
}
"""Requests per 2 s per IP, from each endpoint's "Rate Limit" in https://www.okx.com/docs-v5/en/."""
DEFAULT_REQUESTS = 20
"""For paths the simulator does not serve (they answer 404)."""


def add_routes(app: web.Application, state: ServerState) -> None:
    api = _Routes(state)
    app.router.add_get("/api/v5/public/time", api.time)
    app.router.add_get("/api/v5/public/instruments", api.instruments)
    app.router.add_get("/api/v5/market/candles", api.candles_endpoint(history=False))
    app.router.add_get("/api/v5/market/history-candles", api.candles_endpoint(history=True))
    app.router.add_route("*", "/api/{tail:.*}", api.unknown)


async def answer(
    state: ServerState, request: web.Request, handler: Handler, plan: FaultPlan
) -> tuple[web.StreamResponse, int, int]:
    """Limit, then inject server faults, then run the endpoint; returns (response, weight, now)."""
    now, path = state.clock(), request.path
    key = (request.remote or "127.0.0.1", path, request.query.get("instType", ""))
    limit = state.injector.faults.weight_limit or LIMITS.get(path, DEFAULT_REQUESTS)
    admitted = not plan.storm and state.windows.admit(key, now, limit, WINDOW_MS)
    if not admitted:
        response = _error_response(wire.too_many_requests())
        if plan.storm:
            state.stats.count_fault("storm")
            response.headers["Retry-After"] = str(state.injector.faults.storm_retry_after_s)
    elif plan.error_status is not None:
        state.stats.count_fault(f"http_{plan.error_status}")
        content_type, body = wire.server_error_body(plan.error_status)
        response = web.Response(text=body, status=plan.error_status, content_type=content_type)
    else:
        try:
            response = await handler(request)
        except OkxError as error:
            response = _error_response(error)
        if plan.malformed and response.status == 200 and isinstance(response, web.Response):
            state.stats.count_fault(f"malformed_{plan.malformed}")
            response.text = wire.malformed(response.text or "", plan.malformed)
    return response, int(admitted), now


def _json(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="application/json")


def _error_response(error: OkxError) -> web.Response:
    return _json(error.body(), error.status)


class _Routes:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.by_inst_id = {wire.inst_id(spec): spec for spec in state.specs.values()}

    async def time(self, request: web.Request) -> web.Response:
        return _json(wire.envelope([f'{{"ts":"{self.state.clock()}"}}']))

    async def unknown(self, request: web.Request) -> web.Response:
        raise wire.not_found()

    async def instruments(self, request: web.Request) -> web.Response:
        """Every market is a live spot instrument; other instrument types list nothing."""
        kind = request.query.get("instType")
        if not kind:
            raise wire.param_empty("instType")
        if kind not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
            raise wire.param_error("instType")
        wanted = request.query.get("instId")
        if wanted and wanted not in self.by_inst_id:
            raise wire.no_instrument()
        entries = [
            json.dumps(wire.instrument(spec, 100_000_000 + index), separators=(",", ":"))
            for index, (name, spec) in enumerate(self.by_inst_id.items())
            if kind == "SPOT" and wanted in (None, "", name)
        ]
        return _json(wire.envelope(entries))

    def _spec(self, request: web.Request) -> MarketSpec:
        name = request.query.get("instId")
        if not name:
            raise wire.param_empty("instId")
        spec = self.by_inst_id.get(name)
        if spec is None:
            raise wire.no_instrument()
        return spec

    def candles_endpoint(self, history: bool) -> Handler:
        """``market/candles`` (recent bars) or ``market/history-candles`` (completed ones)."""

        async def handle(request: web.Request) -> web.Response:
            spec, query = self._spec(request), request.query
            interval = BARS.get(query.get("bar") or "1m")
            if interval is None:
                raise wire.param_error("bar")
            after, before = wire.int_param(query, "after"), wire.int_param(query, "before")
            limit = wire.page_limit(query, DEFAULT_LIMIT, MAX_LIMIT)
            self.state.stats.count_klines(spec.market_id, interval.name)
            faults, now = self.state.injector.faults, self.state.clock()

            def build() -> list[str]:
                page = select_page(
                    spec, interval, after, before, limit, now, faults.maintenance, history
                )
                return format_rows(spec, interval, swap_high_low(page, faults.bad_candles), now)

            rows = await asyncio.get_running_loop().run_in_executor(None, build)
            plan = request.get(PLAN)
            if plan is not None and plan.duplicate_at is not None and len(rows) > 1:
                self.state.stats.count_fault("duplicate")
                rows = duplicate_row(rows, plan.duplicate_at, limit)
            return _json(wire.envelope(rows))

        return handle
