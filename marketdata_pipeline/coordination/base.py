"""What every coordination backend provides: request budgets, series locks, collector leases,
and the counters and heartbeats that the long-lived processes report from."""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from ..ops.waits import waiting

# Requests reach the exchange a little after their grant; widen the window to absorb that.
ARRIVAL_MARGIN_SECONDS = 0.5
BACKEND_RETRY_SECONDS = 1.0


class LockLost(RuntimeError):
    """A lock or lease was lost (its connection died): a write under it must fail."""


class BackendDown(RuntimeError):
    """The coordination backend cannot be reached (a database restart): a request must wait
    for its budget, since sent without it, it could pass the exchange's limit."""


class RequestBudget(ABC):
    """A connector's rolling-window request budget, shared by every process that uses it.

    No `window` seconds ever see more than `weight` granted, whatever the exchange's own
    window alignment; a 429/418 pause holds every taker.
    """

    def __init__(self, key: str, weight: int, period_seconds: float):
        self.key = key
        self.weight = weight
        self.period = period_seconds
        self.window = period_seconds + ARRIVAL_MARGIN_SECONDS

    async def acquire(self, weight: int) -> float:
        """Wait until `weight` fits in the window, take it, and return the seconds waited."""
        delay, waited = await self._take(weight)
        if delay <= 0:
            return waited
        paused = " (paused after a 429)" if self.paused_for() else ""
        with waiting(
            f"the {self.key} request budget of {self.weight:g} per {self.period:g}s{paused}"
        ):
            while delay > 0:
                await asyncio.sleep(delay)
                waited += delay
                delay, down = await self._take(weight)
                waited += down
        return waited

    async def _take(self, weight: int) -> tuple[float, float]:
        """`try_take`, and the seconds waited (saying so) while the backend was unreachable."""
        try:
            return self.try_take(weight), 0.0
        except BackendDown as e:
            down, began = e, time.monotonic()
        with waiting(f"the {self.key} request budget: {down}"):
            while True:
                await asyncio.sleep(BACKEND_RETRY_SECONDS)
                try:
                    return self.try_take(weight), time.monotonic() - began
                except BackendDown:
                    continue

    @abstractmethod
    def try_take(self, weight: int) -> float:
        """Take `weight` now if it fits (returns 0), else return how long until it could."""

    @abstractmethod
    def pause(self, seconds: float) -> None:
        """Hold every taker of this budget, everywhere, for `seconds` (a 429's Retry-After)."""

    @abstractmethod
    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""

    @abstractmethod
    def used(self) -> int:
        """Weight taken in the current window (for `marketdata status`)."""

    @abstractmethod
    def last_grant(self) -> float | None:
        """Epoch seconds of the newest grant: when any process last sent a request."""


@dataclass
class Hold:
    """A held series lock: how long it took to get, and a check to run right before each
    write commits (a lock lost with its connection must fail the write, not let it through)."""

    waited: float

    def confirm(self) -> None:
        """Raise LockLost if the lock is no longer held."""


@dataclass(frozen=True)
class Beat:
    """The newest heartbeat of a long-lived process (a stream, an API server)."""

    name: str
    at: float  # epoch seconds on the backend's clock
    age_seconds: float  # how long ago, on the same clock
    payload: dict[str, Any]


CountRow = tuple[str, dict[str, str], float]  # (name, labels, value)


class Coordination(ABC):
    """Shared state of a project: everything that every process and machine must agree on."""

    def __init__(self) -> None:
        self._held = threading.local()

    @abstractmethod
    def budget(self, key: str, weight: int, period_seconds: float) -> RequestBudget: ...

    @contextmanager
    def series_lock(self, name: str) -> Iterator[Hold]:
        """Exclusive lock of one series across processes; yields the Hold.

        Reentrant within a thread: a step that reads, computes and writes under the lock may
        call writers that take it too. Released when the holding process dies.
        """
        held: dict[str, Hold] = self._held.__dict__.setdefault("holds", {})
        if name in held:
            yield held[name]
            return
        with self._lock(name) as hold:
            held[name] = hold
            try:
                yield hold
            finally:
                del held[name]

    @abstractmethod
    def _lock(self, name: str) -> AbstractContextManager[Hold]: ...

    @abstractmethod
    def lease(self, name: str) -> AbstractContextManager[Hold | str]:
        """Hold `name` for as long as the block runs (yields the Hold), or yield who holds it
        (nothing taken).

        For long-lived work such as collecting a series: a second collector must skip it
        rather than wait, and one that dies releases it with its process. A lease can be lost
        while held (its database connection died): `Hold.confirm` says so.
        """

    @abstractmethod
    def add_counts(self, rows: Iterable[CountRow]) -> None:
        """Add each value to the counter (name, labels), created at 0."""

    @abstractmethod
    def counts(self) -> list[CountRow]:
        """Every counter, sorted by name and labels."""

    @abstractmethod
    def beat(self, name: str, payload: dict[str, Any]) -> None:
        """Record that `name` is alive now, with what it reports."""

    @abstractmethod
    def beats(self) -> list[Beat]:
        """The newest heartbeat of every name, sorted by name."""

    @abstractmethod
    def ping(self) -> None:
        """Raise (OSError or the driver's error) when the backend cannot be reached."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the shared state lives, for messages (no password)."""
