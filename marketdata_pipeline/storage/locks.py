"""Per-series write exclusion across processes: ArcticDB loses one of two concurrent writes.

A POSIX lock on a file named after the series; the OS releases it when a process dies, so a
killed run never leaves a series locked.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def series_lock(lock_dir: Path, name: str) -> Iterator[float]:
    """Exclusive lock of one series across processes; yields the seconds spent waiting.

    The OS releases it when a process dies, so a killed run never leaves a series locked.
    For writers on several machines, point `lock_dir` at a shared filesystem with POSIX
    locks (NFSv4, EFS).
    """
    path = lock_dir / (name.replace("/", "__") + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield time.monotonic() - began
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
