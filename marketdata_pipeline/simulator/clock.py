"""The simulator's clock: the exchange's "now", shared by REST answers and WebSocket streams."""

from __future__ import annotations

import time


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class SpeedClock:
    """Epoch ms that starts at ``start_ms`` (default: now) and runs ``speed`` times faster than
    real time, so a test streams simulated minutes in seconds. Callable, like any clock the
    simulator takes; ``speed=1`` without ``start_ms`` is the wall clock."""

    def __init__(self, speed: float = 1.0, start_ms: int | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._origin_ns = time.monotonic_ns()
        self._start_ms = wall_clock_ms() if start_ms is None else int(start_ms)

    def __call__(self) -> int:
        elapsed_ms = (time.monotonic_ns() - self._origin_ns) / 1e6
        return self._start_ms + int(elapsed_ms * self.speed)
