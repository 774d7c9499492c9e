"""The project's Dagster instance: `DAGSTER_HOME`, else `.dagster_home` in the working directory.

The CLI initializes an empty or missing home with a `dagster.yaml` (and brings one it wrote up
to date) and keeps each exchange's concurrency pool limit equal to the connector's `pool_size`,
so `dagster dev`, the daemon and `marketdata sync` all share one view of runs and pools.
Run monitoring fails runs whose process died (see `launcher`) and frees their pool slots.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from dagster import DagsterInstance

from ..config import LoadedConfig

MARKER = "# Written by `marketdata`"
DAGSTER_YAML = f"""\
{MARKER}, which rewrites it when it changes: delete this line to keep edits of your own.
# Pool limits are kept in sync with the connectors' pool_size.
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 8
    tag_concurrency_limits:  # runs of one series queue behind each other, never overlap
      - key: marketdata/series
        value:
          applyLimitPerUniqueValue: true
        limit: 1
  pools:
    granularity: op
run_launcher:  # Dagster's default launcher, plus a health check for run monitoring
  module: marketdata_pipeline.ops.launcher
  class: MonitoredRunLauncher
run_monitoring:  # a run whose process died is failed within a poll, its pool slots freed
  enabled: true
  poll_interval_seconds: 30
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  free_slots_after_run_end_seconds: 15
"""


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()


def project_instance(config: LoadedConfig) -> DagsterInstance:
    """The persistent instance, initialized if needed, with pools matching the config."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    # Several `marketdata` processes may start on a new home at once: Dagster's SQLite schema
    # migration and pool creation are not safe to race, so one process at a time sets them up.
    with (home / ".marketdata-init.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        settings = home / "dagster.yaml"
        if not settings.exists() or _outdated(settings):
            settings.write_text(DAGSTER_YAML)
        instance = DagsterInstance.get()
        sync_pools(instance, config)
    return instance


def _outdated(settings: Path) -> bool:
    """A dagster.yaml that marketdata wrote, from an older version; one edited by hand is kept."""
    text = settings.read_text()
    return text.startswith(MARKER) and text != DAGSTER_YAML


def sync_pools(instance: DagsterInstance, config: LoadedConfig) -> None:
    storage = instance.event_log_storage
    for connector in config.connectors:
        if storage.get_concurrency_info(connector.id).slot_count != connector.pool_size:
            storage.set_concurrency_slots(connector.id, connector.pool_size)


def instance_reader() -> Callable[[], DagsterInstance]:
    """The project's instance for a long-lived reader (`marketdata serve`): opened at its first
    use and kept, never initialized nor changed (the home must hold a dagster.yaml)."""
    opened: list[DagsterInstance] = []

    def instance() -> DagsterInstance:
        if not opened:
            home = dagster_home()
            if not (home / "dagster.yaml").exists():
                raise FileNotFoundError(
                    f"no Dagster instance at {home} (no dagster.yaml); set DAGSTER_HOME"
                )
            opened.append(DagsterInstance.from_config(str(home)))
        return opened[0]

    return instance
