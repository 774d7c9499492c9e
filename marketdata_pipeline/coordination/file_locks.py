"""The embedded series locks and leases: POSIX locks on files named after them, on one machine.

The OS releases a lock when its process dies, so a killed run never leaves a series locked.
The holder writes its pid and host into the file, so a waiter can say who holds it.
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
from .base import Hold


def holder() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _path(lock_dir: Path, name: str, suffix: str) -> Path:
    lock_dir.mkdir(parents=True, exist_ok=True)
    return lock_dir / (name.replace("/", "__") + suffix)


@contextmanager
def file_lock(lock_dir: Path, name: str) -> Iterator[Hold]:
    """Exclusive lock of `name` across the processes of this machine (the OS keeps it with
    the process, so it cannot be lost while held: `Hold.confirm` has nothing to check)."""
    path = _path(lock_dir, name, ".lock")
    began = time.monotonic()
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with waiting(f"the lock of series {name}", lambda: path.read_text().strip()):
                fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.truncate(0)
            handle.write(holder() + "\n")
            handle.flush()
            yield Hold(time.monotonic() - began)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def file_lease(lock_dir: Path, name: str) -> Iterator[Hold | str]:
    path = _path(lock_dir, name, ".lease")
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            yield handle.read().strip() or "another process"
            return
        try:
            handle.truncate(0)
            handle.write(holder() + "\n")
            handle.flush()
            yield Hold(0.0)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
