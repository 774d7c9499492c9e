"""The downstream pattern: ordinary asset inputs receive polars candles through the IO manager."""

from __future__ import annotations

import math

import dagster as dg
import polars as pl
import pytest

from marketdata_pipeline.analytics.market_summary import daily_summary
from marketdata_pipeline.automation.keys import candles_key
from marketdata_pipeline.automation.partitions import partitions_for
from marketdata_pipeline.storage.io_manager import IO_MANAGER_KEY
from marketdata_pipeline.storage.schema import DERIVED
from marketdata_pipeline.storage.store import Symbol
from marketdata_pipeline.timeframes import DAY_MS, get_timeframe

from ..conftest import day_key, day_ms, market


def test_daily_summary_math():
    hour = 3_600_000
    candles = pl.DataFrame(
        {
            "open_time": [DAY_MS + i * hour for i in range(12)],
            "open": [100.0] * 12,
            "close": [100.0 * 1.01**i for i in range(1, 13)],
            "volume": [2.0] * 12,
        }
    ).with_columns(pl.col("open_time").cast(pl.Datetime("ms", "UTC")))
    summary = daily_summary(candles, get_timeframe("1h"), DAY_MS)
    assert summary["daily_return"] == pytest.approx(1.01**12 - 1)
    assert summary["realized_volatility"] == pytest.approx(math.sqrt(11 * math.log(1.01) ** 2))
    assert (summary["volume"], summary["candles"], summary["completeness_pct"]) == (24.0, 12, 50.0)
    assert daily_summary(candles, get_timeframe("1h"), 5 * DAY_MS)["candles"] == 0


def test_market_summary_reads_every_series_through_the_io_manager(make_project):
    project = make_project([market("BTC/USDT", ["1m", "1h"]), market("ETH/USDT", ["1m"])])
    for symbol, timeframe, key in (("BTC/USDT", "1m", day_key(2)), ("ETH/USDT", "1m", day_key(2))):
        project.materialize(project.series(symbol, timeframe), key)
    hourly = project.series("BTC/USDT", "1h")
    project.materialize(
        hourly, partitions_for(hourly).get_partition_key_for_timestamp(day_ms(2) / 1000)
    )
    job = project.defs.resolve_implicit_global_asset_job_def()
    job.execute_in_process(
        instance=project.instance,
        asset_selection=[dg.AssetKey("market_summary")],
        partition_key=day_key(2),
    )
    summary = project.store.read(Symbol("market_summary"), library=DERIVED)
    rows = {r["series"]: r for r in summary.to_dicts()}
    assert set(rows) == {"binance/btc_usdt/1m", "binance/btc_usdt/1h", "binance/eth_usdt/1m"}
    assert (rows["binance/btc_usdt/1m"]["candles"], rows["binance/btc_usdt/1h"]["candles"]) == (
        1440,
        24,
    )
    assert {r["completeness_pct"] for r in rows.values()} == {100.0}
    minutes = project.store.read(project.series(), day_ms(2), day_ms(1))
    assert rows["binance/btc_usdt/1m"]["daily_return"] == pytest.approx(
        minutes["close"][-1] / minutes["open"][0] - 1
    )
    assert rows["binance/btc_usdt/1m"]["volume"] == pytest.approx(minutes["volume"].sum())


def test_a_downstream_asset_gets_its_partition_with_lookback_as_polars(make_project):
    project = make_project()
    series = project.series()
    project.materialize(series, day_key(3), day_key(2))
    received = {}

    @dg.asset(
        partitions_def=partitions_for(series),
        ins={
            "candles": dg.AssetIn(
                key=candles_key(series),
                partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1),
            )
        },
        io_manager_key=IO_MANAGER_KEY,
    )
    def consumer(candles: pl.DataFrame) -> None:
        received["frame"] = candles

    defs = dg.Definitions(assets=[*project.defs.assets, consumer], resources=project.defs.resources)
    job = defs.resolve_implicit_global_asset_job_def()
    job.execute_in_process(
        instance=project.instance, asset_selection=[consumer.key], partition_key=day_key(2)
    )
    frame = received["frame"]
    assert isinstance(frame, pl.DataFrame) and frame.height == 2 * 1440
    assert frame["open_time"].dt.epoch("ms").min() == day_ms(3)
