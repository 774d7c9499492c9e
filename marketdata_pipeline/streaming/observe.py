"""Streamed series in Dagster: runless observations (rows written, last event, lag,
reconnects) that the service reports about once a minute per series."""

import time

import dagster as dg

from ..automation.keys import run_keys
from ..config import LoadedConfig, Series
from ..ops.instance import project_instance
from ..timeframes import iso

OBSERVE_SECONDS = 60.0


class Observer:
    """Reports each series' stream record to the Dagster instance, at most once a minute."""

    def __init__(self, config: LoadedConfig) -> None:
        self.config = config
        self.instance: dg.DagsterInstance | None = None
        self.reported: dict[str, float] = {}

    def observe(self, series: Series, record: dict, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.reported.get(series.name, -OBSERVE_SECONDS) < OBSERVE_SECONDS:
            return
        self.reported[series.name] = now
        self.instance = self.instance or project_instance(self.config)
        last = record.get("last_message_ms")
        self.instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=run_keys(series)[0],
                metadata={
                    "stream_connected": bool(record["connected"]),
                    "stream_rows_written": record.get("rows_written", 0),
                    "stream_last_message": iso(last) if last else "-",
                    "stream_lag_seconds": (record.get("lag_ms") or 0) / 1000,
                    **{f"stream_{k}": record.get(k, 0) for k in ("reconnects", "resyncs")},
                    "stream_gaps_repaired": record.get("gaps_repaired", 0),
                },
            )
        )
