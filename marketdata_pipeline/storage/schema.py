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

# Book snapshots, one wide row each (like Tardis' `book_snapshot_N`): level columns per side.
TIME = pl.Datetime("ms", "UTC")
SIDES = ("bid", "ask")
FIELDS = ("price", "amount")


def level_column(side: str, field: str, level: int) -> str:
    """`bid_price_0` is the best bid; `ask_amount_3` the amount at the fourth-best ask."""
    return f"{side}_{field}_{level}"


def book_schema(depth: int) -> dict[str, pl.DataType]:
    """`timestamp` (exchange time, null where the exchange gives none, as Binance's REST depth
    does), `local_timestamp` (receive time), `update_id`, then each side's prices and amounts
    for levels 0..depth-1, grouped by side and field."""
    levels = {
        level_column(side, field, i): pl.Float64()
        for side in SIDES
        for field in FIELDS
        for i in range(depth)
    }
    return {"timestamp": TIME, "local_timestamp": TIME, "update_id": pl.Int64(), **levels}


TICKER_SCHEMA: dict[str, pl.DataType] = {
    "local_timestamp": TIME,
    "timestamp": TIME,
    **{
        c: pl.Float64()
        for c in (
            *("bid", "ask", "bid_volume", "ask_volume", "last", "open", "high", "low"),
            *("base_volume", "quote_volume", "vwap", "change_pct"),
        )
    },
}

# Book metrics: cumulative depth within these bands around mid (basis points, 1 bp = 0.01 %),
# imbalance over these many top levels (capped at the stored depth) and over all of them.
BANDS_BPS = (10, 50, 100)
IMBALANCE_LEVELS = (1, 5)
METRIC_COLUMNS = (
    "timestamp",
    "local_timestamp",
    "mid",
    "spread",
    "spread_bps",
    "microprice",
    *(f"imbalance_{k}" for k in IMBALANCE_LEVELS),
    "imbalance_n",
    *(
        f"{side}_depth_{bps}bps_{unit}"
        for bps in BANDS_BPS
        for side in ("bid", "ask")
        for unit in ("base", "quote")
    ),
)
# As stored: indexed by the snapshot's receive time.
BOOK_METRIC_SCHEMA: dict[str, pl.DataType] = {
    "local_timestamp": TIME,
    "timestamp": TIME,
    **{c: pl.Float64() for c in METRIC_COLUMNS if not c.endswith("timestamp")},
}

# Where each kind of series (`Series.data`) keeps its rows.
LIBRARY_OF = {"candles": CANDLES, "trades": TRADES, "order_book": ORDER_BOOKS, "ticker": TICKERS}

# The column that makes a row unique in each library (the index everywhere else).
UNIQUE_KEY = {TRADES: "id"}
# A book's schema depends on its depth (`book_schema`), so order_books has no fixed one.
SCHEMAS = {
    CANDLES: CANDLE_SCHEMA,
    TRADES: TRADE_SCHEMA,
    TRADE_CANDLES: TRADE_CANDLE_SCHEMA,
    BOOK_METRICS: BOOK_METRIC_SCHEMA,
    TICKERS: TICKER_SCHEMA,
}
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


def empty_frame(library: str = CANDLES) -> pl.DataFrame:
    """No rows, in the library's schema (none for a library without a fixed one)."""
    return pl.DataFrame(schema=SCHEMAS.get(library, {}))
