"""The freshness sensor: measures every series' lag on its data and requests the catch-up."""

from __future__ import annotations

from dagster import (
    AssetObservation,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from ..config import LoadedConfig, Series
from ..coordination import coordination_for
from ..storage.schema import LIBRARY_OF
from ..storage.store import STORE_KEY, CandleStore
from ..timeframes import iso, now_ms
from .freshness import Lag, lag_of
from .keys import run_keys
from .partitions import partitions_for
from .runs import busy_series, series_request
from .streams import stream_evaluation


def missing_partitions(series: Series, lag: Lag) -> tuple[str, str]:
    """Partition keys from the one after the newest stored candle to the newest closed one."""
    definition = partitions_for(series)
    first = lag.last_ms + series.timeframe.ms if lag.last_ms is not None else series.start_ms
    return (
        definition.get_partition_key_for_timestamp(first / 1000),
        definition.get_partition_key_for_timestamp(lag.expected_ms / 1000),
    )


def freshness_sensor(config: LoadedConfig) -> SensorDefinition:
    """Every series' lag as an observation (plotted in the UI); stale ones get a catch-up run."""
    series_list = config.all_series
    streamed = {s.name for s in series_list if config.streamed(s)}
    tolerance = config.model.freshness
    running = config.model.automation.running

    # Targets the assets it requests, so the UI lists it as their automation. Unlike a job, an
    # asset selection may hold every series' partitions; each run goes to Dagster's asset job.
    requested = [key for s in series_list if not s.every_seconds for key in run_keys(s)]

    @sensor(
        name="candle_freshness",
        asset_selection=AssetSelection.assets(*requested),
        minimum_interval_seconds=60,
        required_resource_keys={STORE_KEY},
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
        description="Compares each series' newest stored candle with the last closed one and "
        "requests runs for exactly the partitions a stale series is missing; a streamed "
        "series whose stream has stalled fails its `stream_live` check.",
    )
    def candle_freshness(context: SensorEvaluationContext) -> SensorResult:
        store: CandleStore = getattr(context.resources, STORE_KEY)
        now = now_ms()
        busy = busy_series(context.instance)
        requests, events = [], []
        beats = coordination_for(config).beats() if streamed else []
        for series in series_list:
            last = store.summary(series, LIBRARY_OF[series.data]).last_ms
            lag = lag_of(series, last, now, tolerance)
            stream = stream_evaluation(series, beats) if series.name in streamed else None
            if stream:
                events.append(stream)
            events.append(
                AssetObservation(
                    asset_key=run_keys(series)[0],
                    metadata={
                        "lag_seconds": lag.lag_seconds,
                        "stale": lag.stale or bool(stream and not stream.passed),
                        "last_candle": iso(lag.last_ms) if lag.last_ms else "-",
                        "expected_candle": iso(lag.expected_ms),
                    },
                )
            )
            # Collected series are caught up by the collector, not by a run: only flagged.
            if lag.stale and series.name not in busy and not series.every_seconds:
                first, last = missing_partitions(series, lag)
                # Keyed on progress: a catch-up that fetched nothing is not requested again.
                run_key = f"catch-up {series.name} after {lag.last_ms} until {last}"
                requests.append(series_request(series, first, last, run_key))
        return SensorResult(run_requests=requests, asset_events=events)

    return candle_freshness


def automation_sensor(config: LoadedConfig) -> AutomationConditionSensorDefinition:
    """Evaluates the derived assets' "follow upstream" condition; Dagster's default one starts off."""
    running = config.model.automation.running
    return AutomationConditionSensorDefinition(
        "follow_candles",
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED,
    )
