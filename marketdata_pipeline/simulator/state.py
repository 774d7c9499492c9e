"""What the HTTP handlers of either protocol share; owned by ``Simulator``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from marketdata_pipeline.simulator.faults import FaultInjector, FaultPlan
from marketdata_pipeline.simulator.ratelimit import WeightLimiter, WindowLimiter
from marketdata_pipeline.simulator.stats import Stats
from marketdata_pipeline.simulator.symbols import MarketSpec

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PLAN = web.RequestKey("fault_plan", FaultPlan)
"""The faults rolled for a request, for handlers that break pages (duplicated rows, holes)."""

EXCHANGES = ("binance", "okx")
"""The wire protocols the simulator speaks (ccxt exchange ids)."""


@dataclass
class ServerState:
    """Markets, clock, faults, limits and statistics behind one simulated exchange.

    ``limiter`` keeps Binance's per-minute weight windows, ``windows`` OKX's per-endpoint
    request windows; only the one of ``exchange`` ever fills.
    """

    specs: dict[str, MarketSpec]
    clock: Callable[[], int]
    weight_limit: int
    injector: FaultInjector
    stats: Stats
    exchange: str = "binance"
    limiter: WeightLimiter = field(default_factory=WeightLimiter)
    windows: WindowLimiter = field(default_factory=WindowLimiter)

    def effective_weight_limit(self) -> int:
        override = self.injector.faults.weight_limit
        return self.weight_limit if override is None else override

    def reset(self) -> None:
        """Clear statistics and every request window."""
        self.stats.reset()
        self.limiter.reset()
        self.windows.reset()
