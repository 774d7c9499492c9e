"""DuckDB connections for analyst SQL: in memory, read-only towards the outside, one line errors.

Queries may read the tables registered on their connection and nothing else: no files (COPY,
read_csv, read_parquet, ATTACH of a file), no extensions (INSTALL, LOAD) and no settings (SET).
DuckDB enforces it with `enable_external_access = false` and `lock_configuration = true`.
Both are settings of the whole database, not of a connection, so they are set once, when this
process's database is created, together with what every query needs (UTC, no Python variables
as tables) as global defaults; cursors inherit them and run no SET of their own, which the lock
would refuse. Registering Arrow tables on a cursor still works under these settings.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import duckdb

# Global defaults, then the two locks; the order matters: after the last, nothing can change.
_SETTINGS = (
    "SET GLOBAL TimeZone = 'UTC'",  # text and naive timestamps compare as UTC
    "SET GLOBAL python_enable_replacements = false",  # no Python variables as tables
    "SET enable_external_access = false",  # no files, no extensions
    "SET lock_configuration = true",  # no SET, RESET or PRAGMA changing a setting
)
READ_ONLY = (
    "queries may only read the tables candles, indicators, trades, trade_candles, order_books,"
    " book_metrics and tickers"
)


class SqlError(ValueError):
    """A query DuckDB rejects; the message is DuckDB's first line."""


@lru_cache(maxsize=1)
def _database(pid: int) -> duckdb.DuckDBPyConnection:
    """This process's locked in-memory database: creating one costs ~20 ms, a cursor ~1 ms."""
    database = duckdb.connect()
    for statement in _SETTINGS:
        database.execute(statement)
    return database


_cursor_lock = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A new connection of its own: tables registered on it are invisible to other queries."""
    with _cursor_lock:
        return _database(os.getpid()).cursor()


def duck(call, *args):
    try:
        return call(*args)
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0]
        refused = (
            isinstance(e, duckdb.PermissionException) or "configuration has been locked" in first
        )
        raise SqlError(f"{first}; {READ_ONLY}" if refused else first) from None
