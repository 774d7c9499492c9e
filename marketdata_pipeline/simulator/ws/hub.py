"""Binance's WebSocket market streams: connections, SUBSCRIBE requests, feeds and faults.

Clients connect to ``/ws`` (or ``/ws/<anything>``, as ccxt.pro's ``/ws/0``) or ``/ws/<stream>``
and send ``{"method": "SUBSCRIBE", "params": [...], "id": N}``, answered
``{"result": null, "id": N}``; ``UNSUBSCRIBE`` and ``LIST_SUBSCRIPTIONS`` work too. Events
arrive bare, or as ``{"stream": name, "data": event}`` on ``/stream?streams=a/b``. A bad
request is answered ``{"error": {"code": 2, "msg": "Invalid request: ..."}, "id": N}``, as
Binance does; unlike Binance, an unknown stream is refused rather than silently empty.

Feeds are polled every 50 ms of real time at their own update speed, and hold what the
simulator's clock says, so REST and streams always agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from marketdata_pipeline.simulator.state import ServerState
from marketdata_pipeline.simulator.ws.connection import Connection
from marketdata_pipeline.simulator.ws.feeds import DepthFeed, Feed
from marketdata_pipeline.simulator.ws.streams import UnknownStream, make_feed

TICK_S = 0.05
HUB = web.AppKey("ws_hub", "Hub")
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS")
_LIMIT_WINDOW_MS = 300_000


def _error(code: int, msg: str, request_id: Any = None) -> str:
    return json.dumps({"error": {"code": code, "msg": msg}, "id": request_id})


class Hub:
    """Every open connection and the feeds of the streams they subscribed to."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.connections: set[Connection] = set()
        self.feeds: dict[str, Feed] = {}
        self.subscribers: dict[str, set[Connection]] = defaultdict(set)
        self._due: dict[str, float] = {}
        self._snapshots: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=64))
        self._rng = random.Random(0)
        self._last_drop: int | None = None
        self._opened: dict[str, deque[int]] = defaultdict(deque)

    @property
    def _delay_s(self) -> float:
        return self.state.injector.faults.ws_delay_ms / 1000.0

    def record_snapshot(self, market_id: str, update_id: int) -> None:
        """A REST depth snapshot was served: depth diffs must also reach a book built on it."""
        self._snapshots[market_id].append(update_id)

    def _admit(self, ip: str) -> web.Response | None:
        """Binance's limit on new connections per IP in any 5 minutes, if one is set: over it,
        the handshake is answered 429 (code -1003) instead of being upgraded."""
        limit, now = self.state.injector.faults.ws_connection_limit, self.state.clock()
        opened = self._opened[ip]
        while opened and opened[0] <= now - _LIMIT_WINDOW_MS:
            opened.popleft()
        if limit and len(opened) >= limit:
            self.state.stats.ws.refused()
            msg = f"Too many new connections; current limit is {limit} per 5 minutes."
            return web.json_response({"code": -1003, "msg": msg}, status=429)
        opened.append(now)
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``/ws``, ``/ws/{tail}`` and ``/stream``: one client connection, until it ends."""
        refusal = self._admit(request.remote or "127.0.0.1")
        if refusal is not None:
            return refusal
        ws = web.WebSocketResponse(heartbeat=20.0)  # Binance pings every 20 s
        await ws.prepare(request)
        conn = Connection(ws, request, combined=request.path == "/stream")
        conn.opened_ms = self.state.clock()
        self.connections.add(conn)
        self.state.stats.ws.opened()
        tail = request.match_info.get("tail", "")
        initial = request.query.get("streams", "").split("/") if conn.combined else [tail]
        if any(initial):  # ``/ws/0`` (ccxt.pro) names no stream: nothing to subscribe
            with contextlib.suppress(UnknownStream):
                self._subscribe(conn, [name for name in initial if name])
        try:
            async for message in ws:
                if message.type == web.WSMsgType.TEXT:
                    conn.send(self._answer(conn, message.data), self._delay_s)
        finally:
            self._close(conn)
            await conn.finish()
        return ws

    def _answer(self, conn: Connection, text: str) -> str:
        try:
            request = json.loads(text)
        except ValueError as exc:
            return _error(3, f"Invalid JSON: {exc}")
        if not isinstance(request, dict):
            return _error(2, "Invalid request: expected an object")
        request_id, method, params = request.get("id"), request.get("method"), request.get("params")
        if method not in _METHODS:
            return _error(
                2, f"Invalid request: unknown method {method!r}; use {_METHODS}", request_id
            )
        if method == "LIST_SUBSCRIPTIONS":
            return json.dumps({"result": conn.streams, "id": request_id})
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return _error(2, "Invalid request: params must be a list of stream names", request_id)
        try:
            if method == "SUBSCRIBE":
                self._subscribe(conn, params)
            else:
                self._unsubscribe(conn, params)
        except UnknownStream as exc:
            return _error(2, f"Invalid request: {exc}", request_id)
        return json.dumps({"result": None, "id": request_id})

    def _subscribe(self, conn: Connection, names: list[str]) -> None:
        """All or nothing: an unknown name subscribes none of them."""
        now = self.state.clock()
        fresh = {
            name: make_feed(name, self.state.specs, now, self._snapshots.__getitem__)
            for name in dict.fromkeys(names)
            if name not in self.feeds
        }
        self.feeds.update(fresh)
        for name in fresh:
            self._due[name] = 0.0
        for name in names:
            if name not in conn.streams:
                conn.streams.append(name)
                self.subscribers[name].add(conn)
        self.state.stats.ws.subscribed(names)

    def _unsubscribe(self, conn: Connection, names: list[str]) -> None:
        for name in names:
            if name in conn.streams:
                conn.streams.remove(name)
                self.subscribers[name].discard(conn)
            if name in self.feeds and not self.subscribers[name]:
                del self.feeds[name], self._due[name], self.subscribers[name]

    def _close(self, conn: Connection) -> None:
        if conn in self.connections:
            self._unsubscribe(conn, list(conn.streams))
            self.connections.discard(conn)
            self.state.stats.ws.closed(conn.cause)

    async def run(self) -> None:
        """Poll the feeds that are due, forever (cancelled when the app stops)."""
        while True:
            await asyncio.sleep(TICK_S)
            self.tick()

    def tick(self) -> None:
        now, faults = self.state.clock(), self.state.injector.faults
        self._enforce(now)
        loop_now = asyncio.get_running_loop().time()
        for name, feed in list(self.feeds.items()):
            if loop_now < self._due[name]:
                continue
            self._due[name] = loop_now + feed.period_ms / 1000.0
            texts = feed.poll(now, faults.maintenance)
            if texts and isinstance(feed, DepthFeed) and self._withhold(feed):
                texts = []
            live = [conn for conn in self.subscribers[name] if conn.cause == "client"]
            for conn in live:  # not the ones closing
                for text in texts:
                    conn.send(text, self._delay_s, name)
            self.state.stats.ws.sent(name, len(texts) * len(live))

    def _withhold(self, feed: DepthFeed) -> bool:
        """Whether to drop this diff event: one armed by ``skip_depth``, or the dice."""
        rate = self.state.injector.faults.ws_depth_skip_rate
        if not feed.skip and not (rate and self._rng.random() < rate):
            return False
        feed.skip = max(feed.skip - 1, 0)
        self.state.stats.ws.skipped_depth()
        return True

    def _enforce(self, now: int) -> None:
        """The time-based faults: forced disconnects by age, and periodic drops."""
        faults = self.state.injector.faults
        if faults.ws_max_connection_s:
            for conn in list(self.connections):
                if (
                    conn.cause == "client"
                    and now - conn.opened_ms >= faults.ws_max_connection_s * 1000
                ):
                    conn.close_after_queued(1000, "max_age", self._delay_s)
        if not faults.ws_drop_every_s:
            self._last_drop = None
        elif self._last_drop is None:
            self._last_drop = now
        elif now - self._last_drop >= faults.ws_drop_every_s * 1000:
            self._last_drop = now
            self.drop_all()

    def drop_all(self) -> None:
        """Cut every connection without a close frame (clients see 1006)."""
        for conn in list(self.connections):
            conn.drop("drop")

    def shutdown_all(self) -> None:
        """Send Binance's ``serverShutdown`` event on every connection, then close it (1001)."""
        event = json.dumps({"e": "serverShutdown", "E": self.state.clock()})
        for conn in list(self.connections):
            conn.send(event, self._delay_s)
            conn.close_after_queued(1001, "shutdown", self._delay_s)

    def skip_depth(self) -> None:
        """Withhold the next diff event of every depth stream: a gap in the update ids."""
        for feed in self.feeds.values():
            if isinstance(feed, DepthFeed):
                feed.skip += 1


def add_ws_routes(app: web.Application, state: ServerState) -> None:
    """Serve the streams on ``app`` and poll them while it runs; connections end with it."""
    hub = Hub(state)
    app[HUB] = hub
    app.router.add_get("/ws", hub.handle)
    app.router.add_get("/ws/{tail:.*}", hub.handle)
    app.router.add_get("/stream", hub.handle)

    async def poll(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(hub.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def disconnect(app: web.Application) -> None:
        hub.drop_all()

    app.cleanup_ctx.append(poll)
    app.on_shutdown.append(disconnect)
