"""What is stored where: ArcticDB library names and the schema of each data type."""

from __future__ import annotations

import polars as pl

# Libraries; every series keeps one symbol name across them (`<exchange>/<market_slug>/<tf>`).
CANDLES = "candles"
INDICATORS = "indicators"
DERIVED = "derived"

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
CANDLE_SCHEMA: dict[str, pl.DataType] = {
    "open_time": pl.Datetime("ms", "UTC"),
    **dict.fromkeys(PRICE_COLUMNS, pl.Float64()),
    "quote_volume": pl.Float64(),
    "trades": pl.Int64(),
}

# The indicators library: one column per indicator, beside `open_time`.
INDICATOR_COLUMNS = (
    "rsi6",
    "rsi14",
    "rsi24",
    "ema12",
    "ema26",
    "macd",
    "macd_signal",
    "macd_hist",
)

# Libraries computed from another: how many later base rows each base row still changes.
# An indicator row depends on the candles before it; 1000 bars on, a candle's weight in every
# indicator (EMA 26, Wilder RSI 24, MACD 12/26/9) is below 1e-18 of the value.
DERIVED_FROM = {CANDLES: {INDICATORS: 1000}}
