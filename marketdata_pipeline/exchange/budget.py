"""A connector's request budget, shared by every process that talks to the exchange.

ccxt's own throttle lives inside one exchange object, so parallel steps would each spend the
whole budget. Here every request first takes its weight from a sliding window kept in a small
SQLite file: `BEGIN IMMEDIATE` serializes the takers across processes, and a crashed process
leaves nothing held. The window is a true rolling one, so no 60 seconds ever see more than
the budget, whatever the exchange's own window alignment.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from itertools import accumulate
from pathlib import Path

from ..config import LoadedConfig
from ..ops.waits import waiting

# Requests reach the exchange a little after their grant; widen the window to absorb that.
ARRIVAL_MARGIN_SECONDS = 0.5


def budget_path(config: LoadedConfig) -> Path:
    """One SQLite file holds every connector's budget, beside the project's data."""
    return config.data_dir / "budgets.sqlite"


class RequestBudget:
    def __init__(self, path: Path | str, key: str, weight: int, period_seconds: float):
        self.path = Path(path)
        self.key = key
        self.weight = weight
        self.period = period_seconds
        self.window = period_seconds + ARRIVAL_MARGIN_SECONDS
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS grants (key TEXT NOT NULL, ts REAL NOT NULL, weight INTEGER NOT NULL)"
            )
            self._db.execute("CREATE INDEX IF NOT EXISTS grants_key_ts ON grants (key, ts)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS pauses (key TEXT PRIMARY KEY, until REAL NOT NULL)"
            )
        return self._db

    async def acquire(self, weight: int) -> float:
        """Wait until `weight` fits in the window, take it, and return the seconds waited."""
        waited = 0.0
        if (delay := self.try_take(weight)) <= 0:
            return waited
        paused = " (paused after a 429)" if self.paused_for() else ""
        with waiting(
            f"the {self.key} request budget of {self.weight:g} per {self.period:g}s{paused}"
        ):
            while delay > 0:
                await asyncio.sleep(delay)
                waited += delay
                delay = self.try_take(weight)
        return waited

    def try_take(self, weight: int, now: float | None = None) -> float:
        """Take `weight` now if it fits (returns 0), else return how long until it could."""
        now = time.time() if now is None else now
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            paused = db.execute("SELECT until FROM pauses WHERE key = ?", (self.key,)).fetchone()
            if paused and paused[0] > now:
                return paused[0] - now
            db.execute(
                "DELETE FROM grants WHERE key = ? AND ts <= ?", (self.key, now - self.window)
            )
            grants = db.execute(
                "SELECT ts, weight FROM grants WHERE key = ? ORDER BY ts", (self.key,)
            ).fetchall()
            # A request heavier than the whole window (a deep book in a short window) goes
            # alone into an empty window; its full weight then holds the next ones back.
            excess = sum(w for _, w in grants) + min(weight, self.weight) - self.weight
            if excess <= 0:
                db.execute("INSERT INTO grants VALUES (?, ?, ?)", (self.key, now, weight))
                return 0.0
            # The grant whose end frees enough weight (the excess is at most what the
            # window holds, so there is one).
            freed = accumulate(w for _, w in grants)
            ends = next(ts for (ts, _), total in zip(grants, freed, strict=True) if total >= excess)
            return max(ends + self.window - now, 0.001)
        finally:
            db.execute("COMMIT")

    def pause(self, seconds: float, now: float | None = None) -> None:
        """Hold every taker of this budget, in every process, for `seconds` (a 429's Retry-After)."""
        until = (time.time() if now is None else now) + seconds
        self._connection().execute(
            "INSERT INTO pauses VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET until = MAX(until, excluded.until)",
            (self.key, until),
        )

    def paused_for(self, now: float | None = None) -> float:
        row = (
            self._connection()
            .execute("SELECT until FROM pauses WHERE key = ?", (self.key,))
            .fetchone()
        )
        return max(0.0, row[0] - (time.time() if now is None else now)) if row else 0.0

    def used(self, now: float | None = None) -> int:
        """Weight taken in the current window (for `marketdata status`)."""
        now = time.time() if now is None else now
        row = (
            self._connection()
            .execute(
                "SELECT COALESCE(SUM(weight), 0) FROM grants WHERE key = ? AND ts > ?",
                (self.key, now - self.window),
            )
            .fetchone()
        )
        return int(row[0])
