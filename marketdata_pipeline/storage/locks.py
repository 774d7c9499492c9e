"""Per-series write exclusion across processes: ArcticDB loses one of two concurrent writes.

A POSIX lock on a file named after the series; the OS releases it when a process dies, so a
killed run never leaves a series locked. The holder writes its pid and host into the file, so
a process waiting for the lock can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..ops.waits import waiting

_held = threading.local()  # the locks this thread holds: a nested take is free


@contextmanager
def series_lock(lock_dir: Path, name: str) -> Iterator[float]:
    """Exclusive lock of one series across processes; yields the seconds spent waiting.

    The OS releases it when a process dies, so a killed run never leaves a series locked.
    For writers on several machines, point `lock_dir` at a shared filesystem with POSIX
    locks (NFSv4, EFS). Reentrant within a thread: a step that reads, computes and writes
    under the lock may call writers that take it too.
    """
    path = lock_dir / (name.replace("/", "__") + ".lock")
    held = _held.__dict__.setdefault("paths", set())
    if path in held:
        yield 0.0
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with waiting(f"the lock of series {name}", lambda: path.read_text().strip()):
                fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(path)
        try:
            handle.truncate(0)
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            handle.flush()
            yield time.monotonic() - began
        finally:
            held.discard(path)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def lease(lock_dir: Path, name: str) -> Iterator[str | None]:
    """Hold `name` for as long as the block runs, or yield who holds it (nothing is taken).

    For long-lived work such as collecting a series: a second collector must skip it rather
    than wait, and one that dies releases it with its process.
    """
    path = lock_dir / (name.replace("/", "__") + ".lease")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            yield handle.read().strip() or "another process"
            return
        try:
            handle.truncate(0)
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            handle.flush()
            yield None
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
