"""Candles built from trades, with polars: Binance's kline fields, empty buckets kept as rows.

A bucket without a trade is a row with zero volume, zero trades and null prices: neither
dropped (the bucket is known empty) nor forward-filled (no trade happened at that price).
"""

from __future__ import annotations

import polars as pl

from ..storage.schema import TRADE_CANDLE_SCHEMA
from ..timeframes import Timeframe

_SUMS = ("volume", "quote_volume", "trades", "taker_buy_volume", "taker_buy_quote_volume")


def trade_candles(trades: pl.DataFrame, tf: Timeframe, start_ms: int, end_ms: int) -> pl.DataFrame:
    """Every `tf` candle opening in [start, end) (on the grid) from the trades inside it.

    The trade count is that of the exchange's own trades: an aggregated trade counts
    last_trade_id - first_trade_id + 1, a plain one 1.
    """
    taker_buy = pl.col("side") == "buy"
    if not (trades["timestamp"].is_sorted() and trades["id"].is_sorted()):
        trades = trades.sort("timestamp", "id")  # stored trades already are
    built = (
        trades.with_columns(
            (pl.col("last_trade_id") - pl.col("first_trade_id") + 1).fill_null(1).alias("n"),
            pl.when(taker_buy).then(pl.col("amount")).otherwise(0.0).alias("buy_amount"),
            pl.when(taker_buy).then(pl.col("cost")).otherwise(0.0).alias("buy_cost"),
        )
        # Sorted by time, so windows are contiguous runs: cheaper than a hash group-by.
        .group_by_dynamic("timestamp", every=f"{tf.ms}ms", offset=f"{tf.origin_ms}ms")
        .agg(
            pl.col("price").first().alias("open"),
            pl.col("price").max().alias("high"),
            pl.col("price").min().alias("low"),
            pl.col("price").last().alias("close"),
            pl.col("amount").sum().alias("volume"),
            pl.col("cost").sum().alias("quote_volume"),
            pl.col("n").sum().alias("trades"),
            pl.col("buy_amount").sum().alias("taker_buy_volume"),
            pl.col("buy_cost").sum().alias("taker_buy_quote_volume"),
        )
        .with_columns(pl.col("timestamp").dt.epoch("ms").alias("open_ms"))
    )
    return _on_grid(built, tf, start_ms, end_ms)


def combine(candles: pl.DataFrame, tf: Timeframe, start_ms: int, end_ms: int) -> pl.DataFrame:
    """Shorter candles (empty ones included) merged into the `tf` candles of [start, end)."""
    built = (
        candles.sort("open_time")
        .with_columns(_bucket(tf, pl.col("open_time")))
        .group_by("open_ms", maintain_order=True)
        .agg(
            pl.col("open").drop_nulls().first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").drop_nulls().last(),
            *(pl.col(c).sum() for c in _SUMS),
        )
    )
    return _on_grid(built, tf, start_ms, end_ms)


def _bucket(tf: Timeframe, time: pl.Expr) -> pl.Expr:
    ms = time.dt.epoch("ms")
    return (ms - (ms - tf.origin_ms) % tf.ms).alias("open_ms")


def _on_grid(built: pl.DataFrame, tf: Timeframe, start_ms: int, end_ms: int) -> pl.DataFrame:
    grid = pl.DataFrame({"open_ms": pl.int_range(tf.ceil(start_ms), end_ms, tf.ms, eager=True)})
    return (
        grid.join(built, on="open_ms", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in _SUMS)
        .with_columns(pl.col("open_ms").cast(pl.Datetime("ms", "UTC")).alias("open_time"))
        .select(list(TRADE_CANDLE_SCHEMA))
        .cast(TRADE_CANDLE_SCHEMA)
    )
