"""Request limits: Binance's weight in fixed 1-minute windows per client IP, and OKX's request
counts in sliding windows per client IP and endpoint."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass

WINDOW_MS = 60_000


@dataclass(frozen=True)
class Admission:
    """Outcome of charging one request: whether it may run, the window's weight so far, and
    how long until the window resets (for ``Retry-After``)."""

    admitted: bool
    used: int
    charged: int
    retry_after_s: int


class WeightLimiter:
    """A request that would exceed the limit is rejected but still costs one weight unit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def charge(
        self, ip: str, weight: int, now_ms: int, limit: int, force_reject: bool = False
    ) -> Admission:
        window = now_ms // WINDOW_MS
        retry_after_s = max(1, -(-((window + 1) * WINDOW_MS - now_ms) // 1000))
        with self._lock:
            start, used = self._windows.get(ip, (window, 0))
            if start != window:
                used = 0
            admitted = not force_reject and used + weight <= limit
            charged = weight if admitted else 1
            used += charged
            self._windows[ip] = (window, used)
        return Admission(admitted, used, charged, retry_after_s)

    def used(self, ip: str, now_ms: int) -> int:
        with self._lock:
            start, used = self._windows.get(ip, (now_ms // WINDOW_MS, 0))
        return used if start == now_ms // WINDOW_MS else 0

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class WindowLimiter:
    """At most ``limit`` requests per key in any sliding ``window_ms`` (OKX: 20 requests per
    2 s per IP and endpoint). A refused request is not counted, so a client that backs off
    gets through as soon as the window has room."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[Hashable, deque[int]] = {}

    def admit(self, key: Hashable, now_ms: int, limit: int, window_ms: int) -> bool:
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now_ms - window_ms:
                events.popleft()
            if len(events) >= limit:
                return False
            events.append(now_ms)
            return True

    def reset(self) -> None:
        with self._lock:
            self._events.clear()
