"""What this process is waiting for, recorded where the wait happens (a series lock, a request
budget), so `marketdata sync` can say what it waits for and give up instead of hanging."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Wait:
    what: str  # e.g. "the lock of series binance/btc_usdt/1m"
    since: float  # epoch seconds
    holder: Callable[[], str] | None = None  # who holds it, asked when shown

    def held_by(self) -> str:
        try:
            return self.holder() if self.holder else ""
        except OSError:
            return ""


_waits: dict[int, Wait] = {}
_guard = threading.Lock()


@contextmanager
def waiting(what: str, holder: Callable[[], str] | None = None) -> Iterator[None]:
    wait = Wait(what, time.time(), holder)
    with _guard:
        _waits[id(wait)] = wait
    try:
        yield
    finally:
        with _guard:
            del _waits[id(wait)]


def current() -> list[Wait]:
    """Every wait in progress in this process, the longest first."""
    with _guard:
        return sorted(_waits.values(), key=lambda w: w.since)
