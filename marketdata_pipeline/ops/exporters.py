"""What the long-lived processes export at /metrics: the project's shared state, read at each
scrape (the counters every process adds to, the request budgets, the streams' heartbeats) and
the Dagster instance (runs and the daemon). Nothing here counts: see `metrics`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, MetricsHandler
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .metrics import COUNTERS

# Runs that ended this long ago or less give their series' last run duration.
RECENT_RUN_SECONDS = 24 * 3600
RUN_STATUSES = ("QUEUED", "STARTING", "STARTED", "SUCCESS", "FAILURE", "CANCELED")


class SharedCounters(Collector):
    """The counters of every process, as their sums in the coordination backend."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def collect(self) -> Iterator[CounterMetricFamily]:
        families = {
            name: CounterMetricFamily(name, text, labels=labels)
            for name, (text, labels) in COUNTERS.items()
        }
        for name, labels, value in self.backend.counts():
            if name in families:
                family = families[name]
                family.add_metric([labels.get(n, "") for n in COUNTERS[name][1]], value)
        yield from families.values()


class Budgets(Collector):
    """Each connector's request budget: weight taken in the current window, and its limit."""

    def __init__(self, budgets: dict[str, Any]) -> None:
        self.budgets = budgets  # exchange id -> its shared RequestBudget

    def collect(self) -> Iterator[GaugeMetricFamily]:
        used = GaugeMetricFamily(
            "marketdata_budget_weight_used",
            "Request weight taken in the budget's current window",
            labels=["exchange"],
        )
        limit = GaugeMetricFamily(
            "marketdata_budget_weight_limit",
            "Request weight the budget allows per window",
            labels=["exchange"],
        )
        window = GaugeMetricFamily(
            "marketdata_budget_window_seconds", "The budget's window", labels=["exchange"]
        )
        paused = GaugeMetricFamily(
            "marketdata_budget_paused_seconds",
            "Seconds left of a pause after a 429/418 (0: not paused)",
            labels=["exchange"],
        )
        for exchange, budget in self.budgets.items():
            used.add_metric([exchange], budget.used())
            limit.add_metric([exchange], budget.weight)
            window.add_metric([exchange], budget.window)
            paused.add_metric([exchange], budget.paused_for())
        yield from (used, limit, window, paused)


def _number(payload: dict, key: str, ms_key: str) -> float | None:
    """A payload value in seconds, given in seconds (`key`) or in milliseconds (`ms_key`)."""
    if payload.get(key) is not None:
        return float(payload[key])
    if payload.get(ms_key) is not None:
        return float(payload[ms_key]) / 1000
    return None


class Streams(Collector):
    """The stream service's heartbeats: one per streamed series (a beat with `connected`)."""

    GAUGES = {
        "marketdata_stream_connected": "1 while the stream's connection is up",
        "marketdata_stream_lag_seconds": "Receive time minus exchange time, at the last message",
        "marketdata_stream_last_message_age_seconds": "Seconds since the stream's last message",
        "marketdata_stream_heartbeat_age_seconds": "Seconds since the stream's last heartbeat",
    }
    COUNTS = {
        "marketdata_stream_reconnects": ("reconnects", "Reconnections of the stream"),
        "marketdata_stream_resyncs": ("resyncs", "Order books rebuilt after a sequence break"),
        "marketdata_stream_gaps_repaired": ("gaps_repaired", "Holes in trade ids filled over REST"),
    }

    def __init__(self, beats: Callable[[], list]) -> None:
        self.beats = beats

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        gauges = {n: GaugeMetricFamily(n, t, labels=["stream"]) for n, t in self.GAUGES.items()}
        counts = {
            n: CounterMetricFamily(n, t, labels=["stream"]) for n, (_, t) in self.COUNTS.items()
        }
        now = time.time()
        for beat in stream_beats(self.beats()):
            p, name = beat.payload, [beat.name]
            gauges["marketdata_stream_connected"].add_metric(name, 1.0 if p["connected"] else 0.0)
            gauges["marketdata_stream_heartbeat_age_seconds"].add_metric(name, beat.age_seconds)
            if (lag := _number(p, "lag_seconds", "lag_ms")) is not None:
                gauges["marketdata_stream_lag_seconds"].add_metric(name, lag)
            if (age := message_age(beat, now)) is not None:
                gauges["marketdata_stream_last_message_age_seconds"].add_metric(name, age)
            for family, (key, _) in self.COUNTS.items():
                counts[family].add_metric(name, float(p.get(key) or 0))
        yield from gauges.values()
        yield from counts.values()


def stream_beats(beats: list) -> list:
    """The heartbeats of streams among all (other long-lived processes beat too)."""
    return [b for b in beats if "connected" in b.payload]


def message_age(beat: Any, now: float) -> float | None:
    """Seconds since a stream's last message. Measured where the stream runs (`silent_ms`, at
    its heartbeat) plus the heartbeat's age on the backend's clock, so no two machines' clocks
    are compared; from the message's own time only for a beat without it."""
    if (silent := _number(beat.payload, "silent_seconds", "silent_ms")) is not None:
        return silent + beat.age_seconds
    last = _number(beat.payload, "last_message", "last_message_ms")
    return None if last is None else now - last


class DagsterRuns(Collector):
    """Runs by status, the last recent run of each series, and the daemon's heartbeats."""

    def __init__(self, instance: Callable[[], Any]) -> None:
        self.instance = instance  # opened at the first scrape, not when the server starts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from dagster import DagsterRunStatus, RunsFilter  # not at import: serve starts quicker

        from ..automation.keys import SERIES_TAG

        instance = self.instance()
        runs = GaugeMetricFamily(
            "marketdata_dagster_runs", "Dagster runs in each status", labels=["status"]
        )
        for status in RUN_STATUSES:
            filters = RunsFilter(statuses=[DagsterRunStatus[status]])
            runs.add_metric([status], instance.get_runs_count(filters=filters))
        last = GaugeMetricFamily(
            "marketdata_dagster_last_run_seconds",
            f"Duration of each series' last run that ended in the last {RECENT_RUN_SECONDS} s",
            labels=["series", "status"],
        )
        finished = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
        since = _utc(time.time() - RECENT_RUN_SECONDS)
        records = instance.get_run_records(RunsFilter(statuses=finished, updated_after=since))
        seen: set[str] = set()
        for record in records:  # newest first
            series = record.dagster_run.tags.get(SERIES_TAG)
            if series is None or series in seen or not (record.start_time and record.end_time):
                continue
            seen.add(series)
            status = record.dagster_run.status.value
            last.add_metric([series, status], record.end_time - record.start_time)
        daemons = GaugeMetricFamily(
            "marketdata_dagster_daemon_heartbeat_age_seconds",
            "Seconds since each Dagster daemon's last heartbeat",
            labels=["daemon"],
        )
        for daemon, beat in daemon_heartbeats(instance).items():
            daemons.add_metric([daemon], time.time() - beat)
        yield from (runs, last, daemons)


def daemon_heartbeats(instance: Any) -> dict[str, float]:
    """Epoch seconds of each daemon's last heartbeat."""
    return {kind: beat.timestamp for kind, beat in instance.get_daemon_heartbeats().items()}


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class Sources(Collector):
    """The collectors of one /metrics, each read on its own: a source that cannot be read (the
    backend or the instance is down) leaves its families empty and shows as
    `marketdata_exporter_up{source} 0`, and the rest is still exported."""

    def __init__(self, sources: dict[str, Collector]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily(
            "marketdata_exporter_up", "1 when the source could be read", labels=["source"]
        )
        for name, source in self.sources.items():
            try:
                families = list(source.collect())
            except Exception:  # shown as up 0; /ready names the failure
                families = []
            up.add_metric([name], 1.0 if families else 0.0)
            yield from families
        yield up


def project_registry(config: Any, instance: Callable[[], Any]) -> CollectorRegistry:
    """What `marketdata serve` exports: the project's shared state and its Dagster instance."""
    from ..coordination import coordination_for
    from ..exchange.limits import shared_budget

    backend = coordination_for(config)
    budgets = {c.id: shared_budget(config, c) for c in config.connectors}
    return _registry(
        counters=SharedCounters(backend),
        budgets=Budgets(budgets),
        streams=Streams(backend.beats),
        dagster=DagsterRuns(instance),
    )


def stream_registry(config: Any) -> CollectorRegistry:
    """What `marketdata stream` exports: the streams' heartbeats."""
    from ..coordination import coordination_for

    return _registry(streams=Streams(coordination_for(config).beats))


def serve_metrics(registry: CollectorRegistry, listening: socket.socket) -> None:
    """Serve `registry` at /metrics on an already listening socket, in a daemon thread (the
    caller binds it, so a busy port is its one-line error)."""
    server = ThreadingHTTPServer(
        listening.getsockname()[:2], MetricsHandler.factory(registry), bind_and_activate=False
    )
    server.socket.close()
    server.socket = listening
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


def _registry(**sources: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Sources(sources))
    return registry
