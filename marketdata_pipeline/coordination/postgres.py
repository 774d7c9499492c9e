"""The Postgres backend (`coordination: postgresql://...`): every process on every machine
that reaches the database shares its budgets, locks, leases, counters and heartbeats.

Series locks and leases are session advisory locks, each held on a connection of its own for
as long as the lock: Postgres releases one when its connection ends, so a killed process
never leaves a series locked. Lock keys never collide: each name gets a unique serial id in
`md_names` (INSERT ... ON CONFLICT), and the lock is taken on (namespace, id), two int4 keys;
no hash is involved, so two series can never share a lock.

A lock whose connection died is gone (another writer may hold it now): `Hold.confirm`, called
right before each ArcticDB write, asks the lock's own connection whether it still holds it and
fails the write if not.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from ..config import ConfigError
from ..ops.waits import waiting
from .base import BackendDown, Beat, Coordination, CountRow, Hold, LockLost, RequestBudget
from .pg_schema import LEASES, SCHEMA, SERIES_LOCKS

HOLDER_SQL = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 2
  AND l.granted LIMIT 1
"""
TRY_SQL = "SELECT pg_try_advisory_lock(%s::int, %s::int)"
HELD_SQL = """
SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
  AND classid = %s::oid AND objid = %s::oid AND objsubid = 2 AND granted
"""


class PostgresCoordination(Coordination):
    def __init__(self, url: str, password_env: str | None = None):
        super().__init__()
        self.url = url
        self.password_env = password_env
        self._guard = threading.Lock()
        self._main: psycopg.Connection | None = None
        self._pid = 0
        self._idle: list[psycopg.Connection] = []  # lock connections between holds
        self._ids: dict[str, int] = {}

    @property
    def where(self) -> str:
        return self.url

    def connect(self) -> psycopg.Connection:
        password = None
        if self.password_env:
            password = os.environ.get(self.password_env)
            if password is None:
                raise ConfigError(
                    f"coordination.password_env names {self.password_env}, which is not set;"
                    " export it with the database password"
                )
        name = f"marketdata pid {os.getpid()} on {socket.gethostname()}"[:63]
        return psycopg.connect(
            self.url,
            password=password,
            autocommit=True,
            connect_timeout=10,
            application_name=name,
        )

    def _conn(self) -> psycopg.Connection:
        """The process's shared connection (a forked child opens its own), schema in place."""
        if self._main is None or self._main.closed or self._pid != os.getpid():
            if self._pid == os.getpid():  # a fork's child must not close its parent's sessions
                for idle in self._idle:
                    idle.close()
            db = self.connect()
            with db.transaction():  # one process at a time creates the tables
                db.execute("SELECT pg_advisory_xact_lock(%s::int, 0)", [SERIES_LOCKS])
                db.execute(SCHEMA)
            self._main, self._pid, self._idle = db, os.getpid(), []
        return self._main

    def execute(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        """Run one statement on the shared connection; one retry on a fresh connection when
        the old one died (the server restarted): a repeated take only over-counts."""
        with self._guard:
            try:
                cursor = self._conn().execute(sql, list(args))
            except psycopg.OperationalError:
                if self._main is not None:
                    self._main.close()
                cursor = self._conn().execute(sql, list(args))
            return cursor.fetchall() if cursor.description else []

    def budget(self, key: str, weight: int, period_seconds: float) -> PostgresBudget:
        return PostgresBudget(self, key, weight, period_seconds)

    def name_id(self, name: str) -> int:
        """The unique id of `name` (see the module's docstring): never shared by two names."""
        if name not in self._ids:
            self.execute("INSERT INTO md_names (name) VALUES (%s) ON CONFLICT DO NOTHING", [name])
            [(self._ids[name],)] = self.execute("SELECT id FROM md_names WHERE name = %s", [name])
        return self._ids[name]

    def holder(self, namespace: int, name: str) -> str:
        rows = self.execute(HOLDER_SQL, [namespace, self.name_id(name)])
        return rows[0][0] if rows else ""

    @contextmanager
    def _advisory(self, namespace: int, name: str, wait: bool) -> Iterator[Hold | None]:
        """Hold the advisory lock on a connection of its own; None when `wait` is False and
        another session holds it."""
        key = [namespace, self.name_id(name)]
        with self._guard:
            self._conn()  # a forked child drops its parent's sessions: they hold its locks
            db = self._idle.pop() if self._idle else None
        began = time.monotonic()
        try:
            try:
                taken = db.execute(TRY_SQL, key).fetchone()[0] if db else None
            except psycopg.OperationalError:  # an idle connection the server dropped
                db.close()
                taken = None
            if taken is None:
                db = self.connect()
                taken = db.execute(TRY_SQL, key).fetchone()[0]
            if not taken and wait:
                with waiting(f"the lock of series {name}", lambda: self.holder(namespace, name)):
                    pause = 0.01
                    while not taken:
                        time.sleep(pause)
                        pause = min(pause * 2, 0.25)
                        taken = db.execute(TRY_SQL, key).fetchone()[0]
        except BaseException:
            if db is not None:
                db.close()  # a connection in doubt ends, and any lock with it
            raise
        try:
            yield PostgresHold(time.monotonic() - began, db, key) if taken else None
        finally:
            self._release(db, key if taken else None)

    def _release(self, db: psycopg.Connection, key: list[int] | None) -> None:
        """Unlock and keep the connection for the next hold; a dead one is dropped (its locks
        died with it)."""
        try:
            if key is not None:
                db.execute("SELECT pg_advisory_unlock(%s::int, %s::int)", key)
        except psycopg.Error:
            db.close()
            return
        with self._guard:
            self._idle.append(db)

    def _lock(self, name: str):
        return self._advisory(SERIES_LOCKS, name, wait=True)

    @contextmanager
    def lease(self, name: str) -> Iterator[Hold | str]:
        with self._advisory(LEASES, name, wait=False) as hold:
            yield hold or self.holder(LEASES, name) or "another process"

    def add_counts(self, rows: Iterable[CountRow]) -> None:
        rows = [(n, json.dumps(labels, sort_keys=True), v) for n, labels, v in rows]
        with self._guard, self._conn().transaction():
            self._main.cursor().executemany(
                "INSERT INTO md_counters VALUES (%s, %s::jsonb, %s) ON CONFLICT (name, labels)"
                " DO UPDATE SET value = md_counters.value + excluded.value",
                rows,
            )

    def counts(self) -> list[CountRow]:
        rows = self.execute("SELECT name, labels, value FROM md_counters")
        return sorted(rows, key=lambda r: (r[0], json.dumps(r[1], sort_keys=True)))

    def beat(self, name: str, payload: dict[str, Any]) -> None:
        self.execute(
            "INSERT INTO md_beats VALUES (%s, md_now(), %s::jsonb) ON CONFLICT (name)"
            " DO UPDATE SET at = excluded.at, payload = excluded.payload",
            [name, json.dumps(payload)],
        )

    def beats(self) -> list[Beat]:
        rows = self.execute("SELECT name, at, md_now() - at, payload FROM md_beats ORDER BY name")
        return [Beat(*row) for row in rows]

    def ping(self) -> None:
        self.execute("SELECT 1")


class PostgresHold(Hold):
    def __init__(self, waited: float, db: psycopg.Connection, key: list[int]):
        super().__init__(waited)
        self.db, self.key = db, key
        self.what = "lease" if key[0] == LEASES else "series lock"

    def confirm(self) -> None:
        try:
            held = self.db.execute(HELD_SQL, self.key).fetchone()[0]
        except psycopg.Error as error:
            raise LockLost(f"the {self.what}'s connection died ({error})") from None
        if not held:
            raise LockLost(f"the {self.what} is no longer held")


class PostgresBudget(RequestBudget):
    """The budget in Postgres: each take is one statement (`md_budget_take`, see `pg_schema`)."""

    def __init__(self, backend: PostgresCoordination, key: str, weight: int, period: float):
        super().__init__(key, weight, period)
        self.backend = backend

    def try_take(self, weight: int) -> float:
        try:
            [(delay,)] = self.backend.execute(
                "SELECT md_budget_take(%s, %s, %s, %s)",
                [self.key, weight, self.weight, self.window],
            )
        except psycopg.OperationalError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BackendDown(f"the coordination database cannot be reached ({first})") from None
        return delay

    def pause(self, seconds: float) -> None:
        self.backend.execute(
            "INSERT INTO md_budgets VALUES (%s, md_now() + %s) ON CONFLICT (key) DO UPDATE"
            " SET paused_until = greatest(md_budgets.paused_until, excluded.paused_until)",
            [self.key, seconds],
        )

    def paused_for(self) -> float:
        rows = self.backend.execute(
            "SELECT greatest(0, paused_until - md_now()) FROM md_budgets WHERE key = %s",
            [self.key],
        )
        return rows[0][0] if rows else 0.0

    def used(self) -> int:
        [(used,)] = self.backend.execute(
            "SELECT coalesce(sum(weight), 0) FROM md_grants WHERE key = %s AND ts > md_now() - %s",
            [self.key, self.window],
        )
        return int(used)

    def last_grant(self) -> float | None:
        [(ts,)] = self.backend.execute("SELECT max(ts) FROM md_grants WHERE key = %s", [self.key])
        return ts
