"""WebSocket statistics, read by tests (``Simulator.stats()["ws"]``, ``GET /sim/stats``)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class WsStats:
    """Connections, subscriptions, events sent per stream and disconnects by cause.

    Disconnect causes: ``client`` (the client closed or went away), ``drop`` (cut without a
    close frame), ``shutdown`` (``serverShutdown`` then close), ``max_age`` (the forced
    disconnect after ``ws_max_connection_s``). ``connections_refused`` counts handshakes over
    ``ws_connection_limit``, ``depth_skipped`` withheld diff events.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._opened = 0
            self._refused = 0
            self._open = 0
            self._subscribe_requests = 0
            self._subscriptions: Counter[str] = Counter()
            self._messages: Counter[str] = Counter()
            self._disconnects: Counter[str] = Counter()
            self._depth_skipped = 0

    def opened(self) -> None:
        with self._lock:
            self._opened += 1
            self._open += 1

    def refused(self) -> None:
        with self._lock:
            self._refused += 1

    def closed(self, cause: str) -> None:
        with self._lock:
            self._open -= 1
            self._disconnects[cause] += 1

    def subscribed(self, streams: list[str]) -> None:
        with self._lock:
            self._subscribe_requests += 1
            self._subscriptions.update(streams)

    def sent(self, stream: str, count: int) -> None:
        with self._lock:
            self._messages[stream] += count

    def skipped_depth(self) -> None:
        with self._lock:
            self._depth_skipped += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "connections_opened": self._opened,
                "connections_open": self._open,
                "connections_refused": self._refused,
                "subscribe_requests": self._subscribe_requests,
                "subscriptions": dict(self._subscriptions),
                "messages_by_stream": dict(self._messages),
                "messages": sum(self._messages.values()),
                "disconnects": dict(self._disconnects),
                "depth_skipped": self._depth_skipped,
            }
