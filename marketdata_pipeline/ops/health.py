"""Readiness of the project's long-lived processes: what `/ready` checks and names.

Ready means every piece that production depends on answers: storage, the coordination backend
(budgets and locks), the Dagster daemon (its heartbeats are recent), and the streams (each has
had a message recently). Each check gives None or the one line that says what failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .exporters import daemon_heartbeats, message_age, stream_beats

# A daemon beats every 20 s or so: one silent for longer than this is down. A stream without a
# message (or a heartbeat) for longer than this has stalled.
DAEMON_SECONDS = 120.0
STALL_SECONDS = 120.0


def readiness(
    storage: Callable[[], None], backend: Any, instance: Callable[[], Any]
) -> dict[str, str | None]:
    """Each check's failure (None when it passed), by name."""
    checks: dict[str, str | None] = {
        "storage": _failure(storage),
        "coordination": _failure(backend.ping, backend.where),
    }
    checks["dagster_daemon"] = _failure(lambda: _daemon(instance(), DAEMON_SECONDS))
    checks["streams"] = (
        "cannot read the streams' heartbeats: the coordination backend is unreachable"
        if checks["coordination"]
        else _failure(lambda: _streams(backend.beats(), STALL_SECONDS))
    )
    return checks


def _failure(check: Callable[[], None], where: str = "") -> str | None:
    try:
        check()
    except Exception as e:  # any failure of a dependency is "not ready", named
        text = " ".join(str(e).split()) or type(e).__name__
        return f"{where}: {text}" if where else text
    return None


def _daemon(instance: Any, tolerance: float) -> None:
    beats = daemon_heartbeats(instance)
    if not beats:
        raise RuntimeError("no Dagster daemon heartbeat: is `dagster-daemon run` running?")
    now = time.time()
    late = [
        f"{d} " + (f"{now - beats[d]:.0f}s ago" if d in beats else "never")
        for d in sorted(instance.get_required_daemon_types())
        if now - beats.get(d, 0.0) > tolerance
    ]
    if late:
        raise RuntimeError(
            f"Dagster daemon heartbeats older than {tolerance:g}s: {', '.join(late)}"
        )


def stream_problem(beat: Any, now: float, stall: float = STALL_SECONDS) -> str | None:
    """Why a stream is not live (None when it is): its service stopped beating, its
    connection is down, or no message arrived for longer than `stall` seconds."""
    age = message_age(beat, now)
    quiet = beat.age_seconds if age is None else max(age, beat.age_seconds)
    if quiet > stall:
        return f"no message for {quiet:.0f}s"
    if not beat.payload.get("connected"):
        return "not connected"
    return None


def _streams(beats: list, stall: float) -> None:
    now = time.time()
    stalled = [
        f"{beat.name} ({problem})"
        for beat in stream_beats(beats)
        if (problem := stream_problem(beat, now, stall)) and problem.startswith("no message")
    ]
    if stalled:
        raise RuntimeError(f"streams stalled for more than {stall:g}s: {', '.join(stalled)}")
