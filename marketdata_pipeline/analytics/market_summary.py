"""`market_summary`: one row per series and day, the example of a downstream consumer.

It takes every candle asset of a timeframe up to a day as an ordinary input: the IO manager
hands it a polars frame of the partitions holding the day.
"""

import math
from datetime import datetime

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    DailyPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
)

from ..automation.keys import candles_key
from ..config import LoadedConfig, Series
from ..storage.io_manager import IO_MANAGER_KEY
from ..timeframes import DAY_MS, Timeframe, from_ms, to_ms

SUMMARY_SCHEMA = {
    "day": pl.Datetime("ms", "UTC"),
    "series": pl.String,
    "daily_return": pl.Float64,
    "realized_volatility": pl.Float64,
    "volume": pl.Float64,
    "candles": pl.Int64,
    "completeness_pct": pl.Float64,
}


def daily_summary(candles: pl.DataFrame, timeframe: Timeframe, day_ms: int) -> dict:
    """Open-to-close return, realized volatility (root sum of squared log returns), volume,
    candle count and completeness of one day of one series' candles."""
    day = candles.filter(
        pl.col("open_time").dt.epoch("ms").is_between(day_ms, day_ms + DAY_MS, closed="left")
    )
    expected = DAY_MS // timeframe.ms
    if day.is_empty():
        return {
            "daily_return": None,
            "realized_volatility": None,
            "volume": 0.0,
            "candles": 0,
            "completeness_pct": 0.0,
        }
    log_returns = day["close"].log().diff().drop_nulls()
    return {
        "daily_return": day["close"][-1] / day["open"][0] - 1,
        "realized_volatility": math.sqrt(float((log_returns**2).sum())),
        "volume": float(day["volume"].sum()),
        "candles": day.height,
        "completeness_pct": 100.0 * day.height / expected,
    }


def market_summary_asset(config: LoadedConfig) -> AssetsDefinition | None:
    """The daily summary over every series whose candles are a day long or shorter."""
    members = [s for s in config.series if s.timeframe.ms <= DAY_MS]
    if not members:
        return None
    names = {_input_name(s): s for s in members}
    first = min(s.start for s in members)

    @asset(
        name="market_summary",
        description="Per series and day: return, realized volatility, volume, candle count, completeness.",
        partitions_def=DailyPartitionsDefinition(
            start_date=datetime(first.year, first.month, first.day), end_offset=0
        ),
        ins={
            name: AssetIn(
                key=candles_key(s),
                partition_mapping=TimeWindowPartitionMapping(
                    allow_nonexistent_upstream_partitions=True
                ),
            )
            for name, s in names.items()
        },
        io_manager_key=IO_MANAGER_KEY,
        group_name="analytics",
        kinds={"polars", "arcticdb"},
    )
    def market_summary(context: AssetExecutionContext, **candles: pl.DataFrame) -> pl.DataFrame:
        day_ms = to_ms(context.partition_time_window.start)
        rows = [
            {
                "day": from_ms(day_ms),
                "series": names[name].name,
                **daily_summary(frame, names[name].timeframe, day_ms),
            }
            for name, frame in sorted(candles.items())
        ]
        return pl.DataFrame(rows, schema=SUMMARY_SCHEMA)

    return market_summary


def _input_name(series: Series) -> str:
    return f"{series.exchange}__{series.market_slug}__{series.timeframe.name}"
