"""What is stored where: ArcticDB library names and the schema of each data type."""

from __future__ import annotations

import polars as pl

# Libraries; every series keeps one symbol name across them (`<exchange>/<market_slug>/<tf>`).
CANDLES = "candles"
INDICATORS = "indicators"
DERIVED = "derived"
TRADES = "trades"  # one symbol per market: `<exchange>/<market_slug>/trades`
TRADE_CANDLES = "trade_candles"  # candles built from trades, under the candle series' names
# Polled snapshots, indexed by their receive time `local_timestamp` (exchange times may lack).
ORDER_BOOKS = "order_books"
BOOK_METRICS = "book_metrics"
TICKERS = "tickers"

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
CANDLE_SCHEMA: dict[str, pl.DataType] = {
    "open_time": pl.Datetime("ms", "UTC"),
    **dict.fromkeys(PRICE_COLUMNS, pl.Float64()),
    "quote_volume": pl.Float64(),
    "trades": pl.Int64(),
}

# Trades, indexed by `timestamp`; `id` is what makes a trade unique.
TRADE_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": pl.Datetime("ms", "UTC"),
    "id": pl.Int64(),
    "price": pl.Float64(),
    "amount": pl.Float64(),
    "cost": pl.Float64(),
    "side": pl.String(),
    "first_trade_id": pl.Int64(),
    "last_trade_id": pl.Int64(),
}

# Candles built from trades: Binance's kline fields, so they compare one to one.
TRADE_CANDLE_SCHEMA: dict[str, pl.DataType] = {
    **CANDLE_SCHEMA,
    "taker_buy_volume": pl.Float64(),
    "taker_buy_quote_volume": pl.Float64(),
}

# Where each kind of series (`Series.data`) keeps its rows.
LIBRARY_OF = {"candles": CANDLES, "trades": TRADES, "order_book": ORDER_BOOKS, "ticker": TICKERS}

# The column that makes a row unique in each library (the index everywhere else).
UNIQUE_KEY = {TRADES: "id"}
SCHEMAS = {CANDLES: CANDLE_SCHEMA, TRADES: TRADE_SCHEMA, TRADE_CANDLES: TRADE_CANDLE_SCHEMA}
# Integer columns that may be null are stored as float64 (exact below 2**53): ArcticDB has no
# integer null, and a column's stored type must not change from one write to the next.
FLOAT_STORED = ("trades", "first_trade_id", "last_trade_id")
# What time range of a series is known complete (fetched to the end, not just partly
# stored): ranges in each symbol's metadata, for data whose rows alone cannot tell.
COVERAGE = "coverage"

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
