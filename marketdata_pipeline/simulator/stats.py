"""Thread-safe request statistics that tests read to check how a client behaved."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

from marketdata_pipeline.simulator.ws.stats import WsStats

ROLLING_MS = 60_000
CANDLE_PATHS = ("/api/v3/klines", "/api/v5/market/candles", "/api/v5/market/history-candles")
"""The paths serving candle pages, in either protocol: ``klines_requests`` counts them all."""


class Stats:
    """Counts answered and dropped ``/api`` requests; ``/sim`` control calls are not counted.

    ``max_weight_in_any_rolling_60s`` is a true sliding window over (timestamp, weight) events,
    stricter than Binance's fixed minutes: it catches bursts that straddle a minute boundary.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ws = WsStats()
        self.reset()

    def reset(self) -> None:
        self.ws.reset()
        with self._lock:
            self._requests = 0
            self._by_path: Counter[str] = Counter()
            self._status: Counter[str] = Counter()
            self._klines: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._weight_total = 0
            self._window: deque[tuple[int, int]] = deque()
            self._window_sum = 0
            self._max_window = 0
            self._in_flight = 0
            self._max_in_flight = 0

    def begin(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def end(self, path: str, status: str, weight: int, now_ms: int) -> None:
        """Finish a request; ``status`` is the HTTP status or "dropped"."""
        with self._lock:
            self._in_flight -= 1
            self._requests += 1
            self._by_path[path] += 1
            self._status[status] += 1
            if weight:
                self._weight_total += weight
                self._window.append((now_ms, weight))
                self._window_sum += weight
                while self._window and self._window[0][0] <= now_ms - ROLLING_MS:
                    self._window_sum -= self._window.popleft()[1]
                self._max_window = max(self._max_window, self._window_sum)

    def count_klines(self, market_id: str, interval: str) -> None:
        with self._lock:
            self._klines[f"{market_id}/{interval}"] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "requests_by_path": dict(self._by_path),
                "status_counts": dict(self._status),
                "weight_used_total": self._weight_total,
                "max_weight_in_any_rolling_60s": self._max_window,
                "count_429": self._status.get("429", 0),
                "max_concurrent_requests": self._max_in_flight,
                "in_flight": self._in_flight,
                "klines_requests": sum(self._by_path.get(path, 0) for path in CANDLE_PATHS),
                "klines_by_market": dict(self._klines),
                "agg_trades_requests": self._by_path.get("/api/v3/aggTrades", 0),
                "trades_requests": self._by_path.get("/api/v3/trades", 0),
                "historical_trades_requests": self._by_path.get("/api/v3/historicalTrades", 0),
                "depth_requests": self._by_path.get("/api/v3/depth", 0),
                "ticker_requests": self._by_path.get("/api/v3/ticker/24hr", 0),
                "faults_injected": dict(self._faults),
                "ws": self.ws.snapshot(),
            }
