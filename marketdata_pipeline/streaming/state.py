"""Each stream's state (connected, last message, lag, reconnects, ...), shared across processes.

The service updates one record per streamed series; `marketdata status` and Dagster read them.
One small SQLite file beside the data for now: `update` and `read` are the only ways in, so the
place can move (to the coordination backend) without touching the callers.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

FIELDS = (
    "connected",  # bool: its WebSocket is up
    "last_message_ms",  # when its last message arrived (local clock)
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


def state_path(data_dir: Path) -> Path:
    return Path(data_dir) / "streams.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)
    db.execute("CREATE TABLE IF NOT EXISTS streams (name TEXT PRIMARY KEY, state TEXT NOT NULL)")
    return db


def update(path: Path, name: str, **fields) -> None:
    """Merge `fields` into the record of stream `name` (a series name)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown stream state fields {sorted(unknown)}; known: {FIELDS}")
    with _connect(path) as db:
        row = db.execute("SELECT state FROM streams WHERE name = ?", (name,)).fetchone()
        state = {**(json.loads(row[0]) if row else {}), **fields}
        db.execute(
            "INSERT OR REPLACE INTO streams (name, state) VALUES (?, ?)", (name, json.dumps(state))
        )
    db.close()


def read(path: Path) -> dict[str, dict]:
    """Every stream's record, by series name."""
    if not path.exists():
        return {}
    db = _connect(path)
    try:
        return {name: json.loads(state) for name, state in db.execute("SELECT * FROM streams")}
    finally:
        db.close()


def status_rows(path: Path, names: list[str], now_ms: int) -> list[dict]:
    """One row per streamed series for `marketdata status`: a stream whose process is gone
    shows as not connected, whatever it last recorded."""
    records = read(path)
    rows = []
    for name in names:
        r = records.get(name, {})
        alive = r.get("pid") is not None and _alive(r["pid"])
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
