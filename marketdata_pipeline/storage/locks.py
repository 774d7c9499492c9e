"""Per-series write exclusion across processes: ArcticDB loses one of two concurrent writes.

A POSIX lock on a file named after the series; the OS releases it when a process dies, so a
killed run never leaves a series locked. The holder writes its pid and host into the file, so
a process waiting for the lock can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..ops.waits import waiting


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
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with waiting(f"the lock of series {name}", lambda: path.read_text().strip()):
                fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.truncate(0)
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            handle.flush()
            yield time.monotonic() - began
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
