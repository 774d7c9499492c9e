"""Shared state of every process and machine of a project: request budgets, series locks,
collector leases, and the counters and heartbeats of long-lived processes.

The config's top-level `coordination:` picks the backend. Absent: embedded (SQLite files and
fcntl locks under the project's `.data/`, one machine). A `postgresql://` URL: Postgres, for
any number of processes on any number of machines (see `postgres`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config import LoadedConfig
from .base import Beat, Coordination, CountRow, Hold, LockLost, RequestBudget
from .embedded import EmbeddedCoordination

__all__ = [
    "Beat",
    "Coordination",
    "CountRow",
    "Hold",
    "LockLost",
    "RequestBudget",
    "coordination_for",
    "coordination_from",
    "coordination_spec",
    "embedded",
]


def coordination_spec(config: LoadedConfig) -> dict[str, Any]:
    """The backend of a project as plain data (for Dagster resources and subprocesses; Dagster
    config allows no None values, so unset ones are left out)."""
    settings = config.model.coordination
    spec = embedded(config.data_dir)
    if settings:
        spec["url"] = settings.url
        if settings.password_env:
            spec["password_env"] = settings.password_env
    return spec


def embedded(data_dir: str | Path) -> dict[str, Any]:
    """The spec of the embedded backend keeping its files in `data_dir`."""
    return {"data_dir": str(data_dir)}


def coordination_for(config: LoadedConfig) -> Coordination:
    """The project's coordination backend, one per process."""
    return coordination_from(coordination_spec(config))


def coordination_from(spec: dict[str, Any]) -> Coordination:
    """The backend a `coordination_spec` describes, one per process."""
    return _backend(spec["data_dir"], spec.get("url"), spec.get("password_env"))


@lru_cache(maxsize=8)
def _backend(data_dir: str, url: str | None, password_env: str | None) -> Coordination:
    if url is None:
        return EmbeddedCoordination(data_dir)
    from .postgres import PostgresCoordination  # psycopg only where Postgres is configured

    return PostgresCoordination(url, password_env)
