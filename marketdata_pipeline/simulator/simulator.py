"""``Simulator``: runs the simulated exchange in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from aiohttp import web

from marketdata_pipeline.simulator.clock import SpeedClock, wall_clock_ms
from marketdata_pipeline.simulator.faults import FaultInjector, Faults
from marketdata_pipeline.simulator.server import build_app
from marketdata_pipeline.simulator.state import EXCHANGES, ServerState
from marketdata_pipeline.simulator.stats import Stats
from marketdata_pipeline.simulator.symbols import DEFAULT_TRADES_PER_MINUTE, make_specs
from marketdata_pipeline.simulator.ws.hub import HUB, Hub

__all__ = ["Simulator", "wall_clock_ms"]


class Simulator:
    """A local spot REST API with deterministic candles and switchable faults.

    ``exchange`` picks the wire protocol: ``"binance"`` (Binance's public spot API) or
    ``"okx"`` (OKX v5's public instruments, time and candle endpoints); the markets, candles
    and faults are the same in both. ``clock`` (a callable returning epoch ms) replaces real
    time for candle visibility, request windows and statistics, so tests can move time without
    sleeping. ``weight_limit`` is Binance's per-minute budget (OKX limits requests per
    endpoint instead). ``trades_per_minute`` is the mean raw trade count of a minute (aggTrades
    are about 70% of it) in every market.

    Speaking Binance, it also serves the WebSocket market streams at ``ws_url`` (see
    ``ws/hub.py``). ``speed`` runs the clock that many times faster than real time from
    ``start_ms`` (default: now), for REST and streams alike, so
    ``Simulator(speed=20, start_ms=...)`` streams a simulated minute in three seconds. Faults
    switch at run time: ``set_faults`` (the ``ws_*`` fields for streams) and the one-off
    ``ws_drop()``, ``ws_shutdown()`` and ``ws_skip_depth()``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        weight_limit: int = 6000,
        faults: Faults | None = None,
        symbols: Mapping[str, Mapping[str, Any]] | None = None,
        clock: Callable[[], int] | None = None,
        trades_per_minute: int = DEFAULT_TRADES_PER_MINUTE,
        exchange: str = "binance",
        speed: float = 1.0,
        start_ms: int | None = None,
    ) -> None:
        if exchange not in EXCHANGES:
            raise ValueError(f"exchange {exchange!r} is not simulated; use one of {EXCHANGES}")
        if clock is not None and (speed != 1.0 or start_ms is not None):
            raise ValueError("pass either clock, or speed and start_ms, not both")
        if clock is None:
            fast = speed != 1.0 or start_ms is not None
            clock = SpeedClock(speed, start_ms) if fast else wall_clock_ms
        self.host, self.port, self.exchange = host, port, exchange
        self._state = ServerState(
            specs=make_specs(symbols, trades_per_minute),
            clock=clock,
            weight_limit=weight_limit,
            injector=FaultInjector(faults),
            stats=Stats(),
            exchange=exchange,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._startup_error: BaseException | None = None
        self._hub: Hub | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Where ccxt.pro's ``urls.api.ws`` point (``ccxt_config`` sets them)."""
        return f"ws://{self.host}:{self.port}/ws"

    def now_ms(self) -> int:
        """The simulator's clock: what ``/api/v3/time`` answers."""
        return self._state.clock()

    @property
    def faults(self) -> Faults:
        return self._state.injector.faults

    @property
    def symbols(self) -> list[str]:
        """Unified symbols served, e.g. ``["BTC/USDT", ...]``."""
        return [spec.symbol for spec in self._state.specs.values()]

    def start(self) -> Simulator:
        """Bind and serve in a daemon thread; returns once the port accepts connections."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"{self.exchange}-sim-{self.port}", daemon=True
        )
        self._thread.start()
        ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None

    def serve_forever(self) -> None:
        """Block until interrupted (Ctrl-C or `kill`), for command-line use."""
        # A parent may have left SIGTERM ignored (inherited across exec): stop on it regardless.
        signal.signal(signal.SIGTERM, _interrupt)
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stats(self) -> dict[str, Any]:
        return self._state.stats.snapshot()

    def reset_stats(self) -> None:
        """Clear statistics and the per-IP request windows."""
        self._state.reset()

    def set_faults(self, faults: Faults) -> None:
        self._state.injector.set(faults)

    def ws_drop(self) -> None:
        """Cut every WebSocket connection now, without a close frame (clients see 1006)."""
        self._on_loop("drop_all")

    def ws_shutdown(self) -> None:
        """Send Binance's ``serverShutdown`` event on every connection, then close it."""
        self._on_loop("shutdown_all")

    def ws_skip_depth(self) -> None:
        """Withhold the next diff event of every depth stream, so clients see a gap."""
        self._on_loop("skip_depth")

    def _on_loop(self, action: str) -> None:
        if self._loop is None or self._hub is None:
            raise RuntimeError("the simulator serves no WebSocket streams (not started, or okx)")

        async def run(hub: Hub) -> None:
            getattr(hub, action)()

        asyncio.run_coroutine_threadsafe(run(self._hub), self._loop).result()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        executor = ThreadPoolExecutor(
            max_workers=4, thread_name_prefix=f"{self.exchange}-sim-candles"
        )
        loop.set_default_executor(executor)
        try:
            loop.run_until_complete(self._open())
        except BaseException as exc:
            self._startup_error = exc
        ready.set()
        if self._startup_error is None:
            loop.run_forever()
            loop.run_until_complete(self._close())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    async def _open(self) -> None:
        app = build_app(self._state)
        self._hub = app.get(HUB)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
