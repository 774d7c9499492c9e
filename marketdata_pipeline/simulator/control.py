"""``/sim/*``: statistics and fault switches for tests running in other processes.

The same on every protocol, and never delayed, limited, broken or counted. Where the protocol
serves WebSocket streams, ``POST /sim/ws/drop``, ``/sim/ws/shutdown`` and ``/sim/ws/skip_depth``
break them once (``Hub.drop_all``, ``shutdown_all``, ``skip_depth``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from marketdata_pipeline.simulator.faults import Faults
from marketdata_pipeline.simulator.state import Handler, ServerState
from marketdata_pipeline.simulator.ws.hub import HUB


def add_control_routes(app: web.Application, state: ServerState) -> None:
    async def stats(request: web.Request) -> web.Response:
        return web.json_response(state.stats.snapshot())

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response(state.injector.faults.to_dict())

    async def set_faults(request: web.Request) -> web.Response:
        try:
            data: Any = await request.json() if request.can_read_body else {}
            faults = Faults.from_dict(data or {})
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        state.injector.set(faults)
        return web.json_response(faults.to_dict())

    async def reset(request: web.Request) -> web.Response:
        state.reset()
        return web.json_response({"ok": True})

    def ws_action(name: str) -> Handler:
        async def act(request: web.Request) -> web.Response:
            getattr(request.app[HUB], name)()
            return web.json_response({"ok": True})

        return act

    if HUB in app:  # the protocol serves WebSocket streams
        app.router.add_post("/sim/ws/drop", ws_action("drop_all"))
        app.router.add_post("/sim/ws/shutdown", ws_action("shutdown_all"))
        app.router.add_post("/sim/ws/skip_depth", ws_action("skip_depth"))
    app.router.add_get("/sim/stats", stats)
    app.router.add_get("/sim/faults", get_faults)
    app.router.add_post("/sim/faults", set_faults)
    app.router.add_post("/sim/reset", reset)
