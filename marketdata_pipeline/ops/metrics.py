"""Counting for Prometheus without prometheus_client's multiprocess mode.

Dagster runs each step in a process of its own, and multiprocess mode leaves files behind per
process. Instead each process adds up its counts in memory (`tally_for(backend).add`) and adds
them to the shared counters of the project's coordination backend in batches: every
`FLUSH_SECONDS` and when the process exits, never one database write per request. The
long-lived processes export those shared counters (see `exporters`).
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import threading
from typing import Any

FLUSH_SECONDS = 5.0
log = logging.getLogger(__name__)

# Every counter a process may count: name -> (help, label names). `exporters` exports each as
# a Prometheus counter (`<name>_total`).
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "marketdata_requests": (
        "HTTP requests sent to exchanges, by endpoint and HTTP status (error: no answer)",
        ("exchange", "endpoint", "status"),
    ),
    "marketdata_retries": ("Requests retried after a temporary failure", ("exchange",)),
    "marketdata_budget_wait_seconds": (
        "Seconds requests waited for their exchange's request budget",
        ("exchange",),
    ),
    "marketdata_lock_wait_seconds": (
        "Seconds writers waited for series locks, by library written",
        ("library",),
    ),
    "marketdata_rows_written": ("Rows written to storage, by library", ("library",)),
}


class Tally:
    """The counts of this process not yet added to one backend's shared counters."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._counts: dict[tuple[str, tuple[str, ...]], float] = {}
        self._guard = threading.Lock()
        self._pid: int | None = None  # the process whose flusher runs
        self._stop = threading.Event()
        self._failing = False  # said once per outage, not every FLUSH_SECONDS

    def add(self, name: str, value: float = 1, **labels: str) -> None:
        names = COUNTERS[name][1]
        if set(labels) != set(names):
            raise ValueError(f"{name} takes the labels {names}, not {sorted(labels)}")
        key = (name, tuple(str(labels[n]) for n in names))
        with self._guard:
            self._started()
            self._counts[key] = self._counts.get(key, 0.0) + value

    def flush(self) -> None:
        """Add what was counted to the shared counters; kept for the next flush if that fails."""
        with self._guard:
            batch, self._counts = self._counts, {}
        if not batch:
            return
        rows = [(n, dict(zip(COUNTERS[n][1], v, strict=True)), c) for (n, v), c in batch.items()]
        try:
            self.backend.add_counts(rows)
        except Exception as e:  # the backend is down: count on, and add it all when it is back
            with self._guard:
                for key, value in batch.items():
                    self._counts[key] = self._counts.get(key, 0.0) + value
            if not self._failing:
                log.warning("metrics: counts kept in memory, adding them failed: %s", e)
            self._failing = True
            return
        if self._failing:
            log.warning("metrics: the counts kept in memory are added again")
        self._failing = False

    def _started(self) -> None:
        """The flusher of this process, started on the first count (and again in a forked
        child, which must not add its parent's counts a second time)."""
        if self._pid == os.getpid():
            return
        if self._pid is not None:
            self._counts.clear()  # the parent's, flushed by the parent
        self._pid = os.getpid()
        self._stop = threading.Event()
        threading.Thread(target=self._flusher, name="metrics-flush", daemon=True).start()
        # Run at interpreter exit and at the exit of a multiprocessing child (Dagster steps),
        # where atexit handlers do not run.
        multiprocessing.util.Finalize(self, self.flush, exitpriority=100)

    def _flusher(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self.flush()


_tallies: dict[int, Tally] = {}
_tallies_guard = threading.Lock()


def tally_for(backend: Any) -> Tally:
    """This process's tally for a coordination backend (one per backend object)."""
    with _tallies_guard:
        tally = _tallies.get(id(backend))
        if tally is None or tally.backend is not backend:
            tally = _tallies[id(backend)] = Tally(backend)
        return tally


def _unlock_after_fork() -> None:
    """A lock that a thread of the parent held at the fork would never be released here."""
    for tally in _tallies.values():
        tally._guard = threading.Lock()


os.register_at_fork(after_in_child=_unlock_after_fork)


class Discard:
    """A tally for code run without a project (a bare client in a test): counts nothing."""

    def add(self, name: str, value: float = 1, **labels: str) -> None:
        pass

    def flush(self) -> None:
        pass
