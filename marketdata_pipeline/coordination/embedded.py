"""The embedded backend (no `coordination:` in the config): SQLite files and fcntl locks under
the project's `.data/`. Nothing to run, but one machine only: another machine sees none of it."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .base import Beat, Coordination, CountRow
from .file_locks import file_lease, file_lock
from .sqlite_budget import SqliteBudget


class EmbeddedCoordination(Coordination):
    def __init__(self, data_dir: Path | str):
        super().__init__()
        self.data_dir = Path(data_dir)
        self.lock_dir = self.data_dir / "locks"
        self._db: sqlite3.Connection | None = None

    @property
    def where(self) -> str:
        return f"embedded in {self.data_dir}"

    def budget(self, key: str, weight: int, period_seconds: float) -> SqliteBudget:
        return SqliteBudget(self.data_dir / "budgets.sqlite", key, weight, period_seconds)

    def _lock(self, name: str):
        return file_lock(self.lock_dir, name)

    def lease(self, name: str):
        return file_lease(self.lock_dir, name)

    def _state(self) -> sqlite3.Connection:
        if self._db is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.data_dir / "state.sqlite",
                timeout=60,
                isolation_level=None,
                check_same_thread=False,
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS counters (name TEXT NOT NULL, labels TEXT NOT NULL,"
                " value REAL NOT NULL, PRIMARY KEY (name, labels))"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS beats (name TEXT PRIMARY KEY, at REAL NOT NULL,"
                " payload TEXT NOT NULL)"
            )
            self._db = db
        return self._db

    def add_counts(self, rows: Iterable[CountRow]) -> None:
        db = self._state()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT (name, labels)"
                " DO UPDATE SET value = value + excluded.value",
                [(n, json.dumps(labels, sort_keys=True), v) for n, labels, v in rows],
            )
        finally:
            db.execute("COMMIT")

    def counts(self) -> list[CountRow]:
        rows = self._state().execute("SELECT name, labels, value FROM counters ORDER BY 1, 2")
        return [(n, json.loads(labels), v) for n, labels, v in rows]

    def beat(self, name: str, payload: dict[str, Any]) -> None:
        self._state().execute(
            "INSERT INTO beats VALUES (?, ?, ?) ON CONFLICT (name)"
            " DO UPDATE SET at = excluded.at, payload = excluded.payload",
            (name, time.time(), json.dumps(payload)),
        )

    def beats(self) -> list[Beat]:
        now = time.time()
        rows = self._state().execute("SELECT name, at, payload FROM beats ORDER BY name")
        return [Beat(n, at, now - at, json.loads(p)) for n, at, p in rows]

    def ping(self) -> None:
        self._state().execute("SELECT 1").fetchone()
