"""The `stream_live` check of streamed series: declared on each streamed asset (run it from
the UI), and evaluated by the freshness sensor on every tick, so a stalled stream fails it
without any run."""

import time

import dagster as dg

from ..config import LoadedConfig, Series
from ..coordination import coordination_for
from ..ops.exporters import stream_beats
from ..ops.health import stream_problem
from .keys import run_keys

STREAM_CHECK = "stream_live"


def stream_check(config: LoadedConfig, series: Series) -> dg.AssetChecksDefinition:
    """Fails while the series' stream is not live: its service stopped, its connection is
    down, or no message came for two minutes."""

    @dg.asset_check(
        asset=run_keys(series)[0],
        name=STREAM_CHECK,
        blocking=False,
        description="The WebSocket stream of this series is connected and receiving.",
    )
    def stream_live() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(**stream_verdict(series, coordination_for(config).beats()))

    return stream_live


def stream_evaluation(series: Series, beats: list) -> dg.AssetCheckEvaluation:
    """The same verdict as a runless evaluation, for the sensor."""
    return dg.AssetCheckEvaluation(**stream_verdict(series, beats))


def stream_verdict(series: Series, beats: list) -> dict:
    beat = next((b for b in stream_beats(beats) if b.name == series.name), None)
    problem = "never streamed" if beat is None else stream_problem(beat, time.time())
    return dict(
        asset_key=run_keys(series)[0],
        check_name=STREAM_CHECK,
        passed=problem is None,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problem": problem or "-"},
        description=f"{series.name}: stream {problem}" if problem else None,
    )
