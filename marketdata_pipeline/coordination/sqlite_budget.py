"""The embedded request budget: a sliding window kept in a small SQLite file on one machine.

ccxt's own throttle lives inside one exchange object, so parallel steps would each spend the
whole budget. Here every request first takes its weight from the window: `BEGIN IMMEDIATE`
serializes the takers across processes, and a crashed process leaves nothing held.
"""

from __future__ import annotations

import sqlite3
import time
from itertools import accumulate
from pathlib import Path

from .base import RequestBudget


class SqliteBudget(RequestBudget):
    def __init__(self, path: Path | str, key: str, weight: int, period_seconds: float):
        super().__init__(key, weight, period_seconds)
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
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

    def try_take(self, weight: int, now: float | None = None) -> float:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        # The clock is read once the write lock is held: a time read before waiting for it
        # is stale, and a grant stamped with it lands among grants another taker pruned.
        now = time.time() if now is None else now
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
        until = (time.time() if now is None else now) + seconds
        self._connection().execute(
            "INSERT INTO pauses VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET until = MAX(until, excluded.until)",
            (self.key, until),
        )

    def _one(self, sql: str, *args) -> tuple | None:
        """One row of a query; None without creating the file when no request was ever made."""
        if self._db is None and not self.path.exists():
            return None
        return self._connection().execute(sql, args).fetchone()

    def paused_for(self, now: float | None = None) -> float:
        row = self._one("SELECT until FROM pauses WHERE key = ?", self.key)
        return max(0.0, row[0] - (time.time() if now is None else now)) if row else 0.0

    def used(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        row = self._one(
            "SELECT COALESCE(SUM(weight), 0) FROM grants WHERE key = ? AND ts > ?",
            self.key,
            now - self.window,
        )
        return int(row[0]) if row else 0

    def last_grant(self) -> float | None:
        """The file keeps the newest grant of every key (only older ones are pruned)."""
        row = self._one("SELECT MAX(ts) FROM grants WHERE key = ?", self.key)
        return row[0] if row else None
