"""Each stream's state (connected, last message, lag, reconnects, ...), shared across machines.

The service records one heartbeat per streamed series in the coordination backend, about once
a second; `marketdata status`, the freshness sensor, `/metrics` and `/ready` read them there.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..coordination import Coordination

# A stream whose service has not beaten for this long is gone (killed, or its machine is).
GONE_SECONDS = 30.0

FIELDS = (
    "connected",  # bool: its WebSocket is up
    "last_message_ms",  # when its last message arrived (local clock)
    "silent_ms",  # how long ago that was, at this record (readers on other clocks add its age)
    "lag_ms",  # receive time minus the exchange's event time, at the last message
    "reconnects",
    "resyncs",  # order books rebuilt from a fresh snapshot after a sequence break
    "gaps_repaired",  # holes in trade ids filled over REST
    "rows_written",
    "dropped",  # rows a full buffer could not take (trades: repaired over REST)
    "pid",
)


@dataclass
class Counts:
    """What one stream has done since the service started (persisted by `update`)."""

    rows_written: int = 0
    gaps_repaired: int = 0
    resyncs: int = 0
    dropped: int = 0
    last_message_ms: int | None = None
    lag_ms: int | None = None


def update(backend: Coordination, name: str, **fields) -> None:
    """Record the state of stream `name` (a series name), replacing the previous record."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown stream state fields {sorted(unknown)}; known: {FIELDS}")
    backend.beat(name, fields)


def read(backend: Coordination) -> dict[str, dict]:
    """Every stream's record, by series name, with `age_seconds` of its heartbeat."""
    return {
        b.name: {**b.payload, "age_seconds": b.age_seconds}
        for b in backend.beats()
        if "connected" in b.payload
    }


def status_rows(backend: Coordination, names: list[str], now_ms: int) -> list[dict]:
    """One row per streamed series for `marketdata status`: a stream whose service has stopped
    beating (killed, machine gone) shows as not connected, whatever it last recorded."""
    records = read(backend)
    rows = []
    for name in names:
        r = records.get(name, {})
        alive = r.get("age_seconds", GONE_SECONDS) < GONE_SECONDS
        last = r.get("last_message_ms")
        rows.append(
            {
                "stream": name,
                "connected": "never" if not r else "yes" if alive and r["connected"] else "no",
                "last_message": "-" if last is None else f"{(now_ms - last) / 1000:.0f}s ago",
                "lag_ms": "-" if r.get("lag_ms") is None else r["lag_ms"],
                **{k: r.get(k, 0) for k in ("reconnects", "resyncs", "gaps_repaired")},
                "rows_written": r.get("rows_written", 0),
            }
        )
    return rows
