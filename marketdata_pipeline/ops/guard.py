"""`marketdata sync` under watch: it says what it waits for, gives up after a timeout, and stops
on SIGINT or SIGTERM with its runs canceled and their pool slots freed.

The sync's runs execute in-process (execute_in_process) in a worker thread: Dagster captures
interrupts only on the main thread, where they would wait for a checkpoint that a pool wait
never reaches, so the main thread keeps the signals and watches. Stopping ends the process, as a
kill would, after recording the end of its runs: the OS releases the series locks, what the
runs wrote stays, and the next run's delta fetch resumes from there.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

from dagster import DagsterInstance, DagsterRun, RunsFilter

from ..automation.keys import SERIES_TAG
from .heal import UNFINISHED, heal_dead_runs
from .owners import HOST_TAG, PID_TAG, host, liveness
from .waits import Wait, current

T = TypeVar("T")
TICK = 0.25  # how fast a signal is acted on
POLL = 2.0  # how often the instance is asked about pool waits
HEAL_EVERY = 30.0  # while waiting for a pool: a holder that died frees its slot
SHOW_AFTER = 2.0  # shorter waits are not worth a line
REPEAT = 30.0  # without a terminal, a wait is printed again this often
HOLDER = re.compile(r"pid (\d+) on (\S+)")


def _terminal() -> TextIO:
    """Where stderr goes now: while a run executes, Dagster points the process's stderr at the
    run's compute log, and what the guard says is for the user, not for that log."""
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    except (OSError, ValueError):  # no file descriptor (e.g. click's test runner)
        return sys.stderr


class SyncGuard:
    def __init__(
        self,
        instance: DagsterInstance,
        pools: list[str],
        wait_timeout: float,
        stream: TextIO | None = None,
    ):
        self.instance = instance
        self.pools = pools
        self.wait_timeout = wait_timeout
        self._own_stream = stream is None
        self.stream = stream or _terminal()
        self._signal: int | None = None
        self._pool_waits: list[Wait] = []
        self._polled = self._healed = 0.0
        self._shown = ("", 0.0)  # what was last printed (the line on a terminal), and when
        self._on_line = False  # a terminal line to clear

    def run(self, work: Callable[[], T]) -> T:
        """`work()` in a worker thread, watched from this (the main) thread."""
        outcome: dict = {}

        def target() -> None:
            try:
                outcome["value"] = work()
            except BaseException as e:
                outcome["error"] = e

        worker = threading.Thread(target=target, name="marketdata-sync", daemon=True)
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {s: signal.signal(s, self._on_signal) for s in stops}
        try:
            worker.start()
            while worker.is_alive():
                worker.join(TICK)
                if self._signal is not None:
                    self._stop_on_signal(self._signal)
                self._watch()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self._clear()
            if self._own_stream and self.stream is not sys.stderr:
                self.stream.close()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _on_signal(self, signum: int, _frame) -> None:
        self._signal = signum

    def _watch(self) -> None:
        if time.time() - self._polled >= POLL:
            self._poll_pools()
        wait = self._longest()
        if wait and time.time() - wait.since >= self.wait_timeout and wait in self._pool_waits:
            self._poll_pools()  # the slot may have come since the last look
            wait = self._longest()
        if wait is None:
            self._clear()
            return
        age = time.time() - wait.since
        if age >= self.wait_timeout:
            self._give_up(wait, age)
        elif age >= SHOW_AFTER:
            line = f"sync: {self._describe(wait, age)} (gives up after {self.wait_timeout:g}s)"
            self._show(line, wait.what)

    def _poll_pools(self) -> None:
        self._polled = time.time()
        self._pool_waits = self._waits_for_pools()

    def _longest(self) -> Wait | None:
        return min([*current(), *self._pool_waits], key=lambda w: w.since, default=None)

    def _mine(self) -> list[DagsterRun]:
        """The unfinished runs this process executes."""
        mine = {PID_TAG: str(os.getpid()), HOST_TAG: host()}
        records = self.instance.get_run_records(RunsFilter(tags=mine, statuses=UNFINISHED))
        return [r.dagster_run for r in records]

    def _waits_for_pools(self) -> list[Wait]:
        """Steps of this process's runs queued for a pool slot, with the runs holding the slots."""
        mine = {run.run_id for run in self._mine()}
        if not mine:
            return []
        infos = self.instance.event_log_storage.get_concurrency_infos(self.pools)
        waits = []
        for pool, info in infos.items():
            queued = [
                s for s in info.pending_steps if s.run_id in mine and not s.assigned_timestamp
            ]
            if queued:
                holders = sorted({slot.run_id for slot in info.claimed_slots})
                what = f"a slot in pool {pool} ({len(holders)}/{info.slot_count} in use)"
                since = min(s.enqueued_timestamp.timestamp() for s in queued)
                held = self._runs_text(holders)
                waits.append(Wait(what, since, lambda held=held: held))
        if waits and time.time() - self._healed >= HEAL_EVERY:
            self._healed = time.time()
            heal_dead_runs(self.instance)
        return waits

    def _runs_text(self, run_ids: list[str]) -> str:
        described = []
        for run_id in run_ids[:4]:
            run = self.instance.get_run_by_id(run_id)
            series = run.tags.get(SERIES_TAG, "-") if run else "-"
            state = liveness(run).detail if run else "no such run"
            described.append(f"run {run_id[:8]} ({series}, {state})")
        return ", ".join(described) + (f" and {len(run_ids) - 4} more" if len(run_ids) > 4 else "")

    def _describe(self, wait: Wait, age: float) -> str:
        held = wait.held_by()
        if match := HOLDER.fullmatch(held):  # a series lock's holder: name its run if known
            owner = {PID_TAG: match[1], HOST_TAG: match[2]}
            records = self.instance.get_run_records(RunsFilter(tags=owner, statuses=UNFINISHED))
            if records:
                held = self._runs_text([r.dagster_run.run_id for r in records])
        return f"waiting {age:.0f}s for {wait.what}" + (f", held by {held}" if held else "")

    def _show(self, line: str, what: str) -> None:
        """On a terminal, one line kept current; elsewhere a line per new wait, repeated now
        and then."""
        if self.stream.isatty():
            if line != self._shown[0]:
                self.stream.write("\r\033[K" + line)
                self._shown = (line, time.time())
            self._on_line = True
        elif what != self._shown[0] or time.time() - self._shown[1] >= REPEAT:
            self.stream.write(line + "\n")
            self._shown = (what, time.time())
        self.stream.flush()

    def _clear(self) -> None:
        if self._on_line:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._on_line = False
            self._shown = ("", 0.0)

    def _give_up(self, wait: Wait, age: float) -> None:
        reason = f"gave up after {self._describe(wait, age)}"
        advice = "see `marketdata status`, or raise --wait-timeout"
        self._end(reason, False, f"{reason}; {advice}", "", 1)

    def _stop_on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        self._end(
            f"marketdata sync stopped by {name}",
            True,
            f"stopped by {name}",
            "; what it wrote is kept and the next sync resumes from there",
            128 + signum,
        )

    def _end(self, reason: str, canceled: bool, message: str, advice: str, code: int) -> None:
        """Record the end of this process's runs, free their slots, and exit at once."""
        ended = []
        for run in self._mine():
            if canceled:
                self.instance.report_run_canceled(run, reason)
            else:
                self.instance.report_run_failed(run, reason)
            self.instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            ended.append(f"{run.run_id[:8]} ({run.tags.get(SERIES_TAG, '-')})")
        if ended:
            status = "canceled" if canceled else "marked failed"
            message += f"; run {', '.join(ended)} {status}, its pool slots freed"
        self._clear()
        sys.stdout.flush()
        self.stream.write(f"error: {message}{advice if ended else ''}\n")
        self.stream.flush()
        os._exit(code)
