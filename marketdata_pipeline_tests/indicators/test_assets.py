"""Indicator assets equal TA-Lib over the whole stored series, whatever the materialization order."""

from __future__ import annotations

import numpy as np
import polars as pl
import talib
from dagster import evaluate_automation_conditions
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from marketdata_pipeline.automation.keys import candles_key, indicators_key
from marketdata_pipeline.storage.schema import INDICATORS

from ..conftest import day_key, market, metadata_of
from .test_formulas import assert_matches_talib


def talib_reference(candles: pl.DataFrame) -> dict[str, np.ndarray]:
    close = candles["close"].to_numpy()
    macd, signal, hist = talib.MACD(close, 12, 26, 9)
    return {
        "rsi6": talib.RSI(close, 6),
        "rsi14": talib.RSI(close, 14),
        "rsi24": talib.RSI(close, 24),
        "ema12": talib.EMA(close, 12),
        "ema26": talib.EMA(close, 26),
        "macd": macd,
        "macd_signal": signal,
        "macd_hist": hist,
    }


def assert_equals_talib_on_whole_series(project, series=None) -> None:
    series = series or project.series()
    candles = project.store.read(series)
    stored = project.store.read(series, library=INDICATORS)
    assert stored["open_time"].to_list() == candles["open_time"].to_list()
    price_scale = float(candles["close"].abs().max())
    for column, expected in talib_reference(candles).items():
        scale = 100.0 if column.startswith("rsi") else price_scale
        assert_matches_talib(stored[column], expected, scale)


def test_indicators_of_a_backfill_equal_talib_and_report_latest_values(make_project):
    project = make_project()
    result = project.materialize(project.series(), day_key(4), day_key(2))
    assert_equals_talib_on_whole_series(project)
    metadata = metadata_of(result, "indicators")  # the last partition's
    latest = project.store.read(project.series(), library=INDICATORS).tail(1)
    assert metadata["rsi14"] == latest["rsi14"][0]
    assert metadata["rows"] == metadata["rows_computed"] == 1440
    preview = metadata["preview"]  # shown in place by the UI: under 1000 characters
    assert (
        preview.startswith("![BTC/USDT 1m binance](data:image/svg+xml,<svg") and len(preview) < 1000
    )
    again = project.materialize(project.series(), day_key(4), day_key(2))
    assert metadata_of(again, "indicators")["rows_computed"] == 0  # nothing changed: no work


def test_any_materialization_order_gives_the_whole_series_values(make_project):
    """Candles arrive newest first; indicators are computed as each arrives and again where the
    automation says an arrival reached: the result equals TA-Lib on the final series."""
    project = make_project()
    series = project.series()
    job = project.defs.resolve_implicit_global_asset_job_def()
    cursor = evaluate_automation_conditions(defs=project.defs, instance=project.instance).cursor
    requested: set[str] = set()
    for first, last in ((2, 2), (3, 3), (6, 4)):
        job.execute_in_process(
            instance=project.instance,
            asset_selection=[candles_key(series)],
            tags={
                ASSET_PARTITION_RANGE_START_TAG: day_key(first),
                ASSET_PARTITION_RANGE_END_TAG: day_key(last),
            },
        )
        result = evaluate_automation_conditions(
            defs=project.defs, instance=project.instance, cursor=cursor
        )
        cursor = result.cursor
        requested |= result.get_requested_partitions(indicators_key(series))
        for key in sorted(result.get_requested_partitions(indicators_key(series)), reverse=True):
            job.execute_in_process(
                instance=project.instance,
                asset_selection=[indicators_key(series)],
                partition_key=key,
            )
    assert requested == {day_key(d) for d in range(1, 7)}  # each change and the day after it
    assert_equals_talib_on_whole_series(project)


def test_the_automation_requests_nothing_a_sync_run_already_computed(make_project):
    """A sync run writes candles, then their indicators: the automation sees both and leaves
    them. Candles written alone make it request their partitions and the day after."""
    project = make_project()
    series = project.series()
    cursor = evaluate_automation_conditions(defs=project.defs, instance=project.instance).cursor
    project.materialize(series, day_key(3), day_key(0))  # what `marketdata sync` runs
    result = evaluate_automation_conditions(
        defs=project.defs, instance=project.instance, cursor=cursor
    )
    assert result.get_requested_partitions(indicators_key(series)) == set()
    project.defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=project.instance, asset_selection=[candles_key(series)], partition_key=day_key(2)
    )
    result = evaluate_automation_conditions(
        defs=project.defs, instance=project.instance, cursor=result.cursor
    )
    assert result.get_requested_partitions(indicators_key(series)) == {day_key(2), day_key(1)}


def test_indicators_never_reach_past_the_stored_candles(make_project):
    project = make_project([market()])
    series = project.series()
    project.materialize(series, day_key(0))
    candles = project.store.read(series)
    stored = project.store.read(series, library=INDICATORS)
    assert stored["open_time"].max() == candles["open_time"].max()
