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
