"""Asset checks of candles, evaluated in the step that wrote them.

`structure` holds what the writer guarantees and blocks indicators when broken;
`exchange_anomalies` flags what the exchange served (kept as served): a warning, or an error
once the share of bad rows passes `quality.error_share`. Each result covers the partitions of
its run and carries rows checked, violations per rule, first offenders and a quality score.
"""

from __future__ import annotations

import polars as pl
from dagster import AssetCheckResult, AssetCheckSpec, AssetKey, MetadataValue

from ..config import Quality, Series
from ..quality.checks import check_result, ranges_md, window_metadata
from ..quality.findings import Finding, merge_findings, severity_is_error
from ..storage.store import CandleStore
from .validation import (
    anomaly_findings,
    gap_ranges,
    quality_score,
    shared_outages,
    structural_findings,
)

STRUCTURE = "structure"
ANOMALIES = "exchange_anomalies"


def candle_check_specs(key: AssetKey) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            STRUCTURE,
            asset=key,
            blocking=True,
            description="Unique increasing open times on the timeframe grid, inside the "
            "partitions, closed candles only, the stored schema.",
        ),
        AssetCheckSpec(
            ANOMALIES,
            asset=key,
            description="What the exchange served: OHLC consistency, prices > 0, volume >= 0, "
            "gaps (market gap or exchange-wide outage) and price jumps.",
        ),
    ]


def candle_check_results(
    store: CandleStore,
    series: Series,
    peers: list[Series],
    windows: list[tuple[int, int]],
    now_ms: int,
    quality: Quality,
) -> list[AssetCheckResult]:
    """Both candle checks over the run's partition windows, read one window at a time so a
    multi-year run never holds more than one window of candles."""
    tf = series.timeframe
    # Gaps count from the first candle ever stored (not before a listing) to the last closed one.
    first_ms = store.summary(series).first_ms
    structure: list[Finding] = []
    anomalies: list[Finding] = []
    gaps: list[tuple[int, int]] = []
    outages: list[tuple[int, int]] = []
    rows = checked = 0
    for start, end in windows:
        stored = store.read(series, start, end)
        rows += stored.height
        structure = merge_findings(structure, structural_findings(stored, tf, start, end, now_ms))
        since = tf.ceil(max(start, series.start_ms, first_ms or end))
        until = max(since, min(end, tf.closed_until(now_ms)))
        candles = stored.filter(_in(since, until))
        checked += candles.height
        history = store.read(series, since - quality.volatility_window * tf.ms, since)
        found = anomaly_findings(
            candles,
            tf,
            since,
            until,
            jump_multiple=quality.jump_multiple,
            volatility_window=quality.volatility_window,
            history=history,
        )
        anomalies = merge_findings(anomalies, found)
        window_gaps = gap_ranges(candles, tf, since, until)
        gaps += window_gaps
        if window_gaps:
            outages += _exchange_outages(store, series, peers, window_gaps, since, until)
    start, end = windows[0][0], windows[-1][1]
    structure_result = check_result(
        STRUCTURE, structure, rows, error=True, extra=window_metadata(start, end)
    )
    expected = sum(f.rows_checked for f in anomalies if f.rule == "gaps")
    extra = {
        **window_metadata(start, end),
        **quality_score(anomalies, expected),
        "exchange_outages": MetadataValue.md(ranges_md(outages)),
        "market_gaps": MetadataValue.md(ranges_md([g for g in gaps if g not in outages])),
    }
    error = any(severity_is_error(f, quality.error_share) for f in anomalies)
    return [structure_result, check_result(ANOMALIES, anomalies, checked, error=error, extra=extra)]


def structure_result(
    candles: pl.DataFrame, series: Series, start_ms: int, end_ms: int, now_ms: int
) -> AssetCheckResult:
    findings = structural_findings(candles, series.timeframe, start_ms, end_ms, now_ms)
    return check_result(
        STRUCTURE, findings, candles.height, error=True, extra=window_metadata(start_ms, end_ms)
    )


def _exchange_outages(
    store: CandleStore,
    series: Series,
    peers: list[Series],
    gaps: list[tuple[int, int]],
    start_ms: int,
    end_ms: int,
) -> list[tuple[int, int]]:
    """Gaps of this series that every other stored series of its exchange and timeframe shares."""
    others = {
        p.name: gap_ranges(store.read(p, start_ms, end_ms), p.timeframe, start_ms, end_ms)
        for p in peers
        if p != series and _stored_since(store, p, start_ms)
    }
    if not others:
        return []
    return shared_outages({series.name: gaps, **others})


def _stored_since(store: CandleStore, series: Series, start_ms: int) -> bool:
    """A peer says something about [start, ...) only if its stored history reaches back there."""
    first = store.summary(series).first_ms
    return first is not None and first <= start_ms


def _in(start_ms: int, end_ms: int) -> pl.Expr:
    return pl.col("open_time").dt.epoch("ms").is_between(start_ms, end_ms, closed="left")
