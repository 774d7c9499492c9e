"""Candles from trades: exact fields, empty buckets as rows, weekly candles from days."""

import polars as pl

from marketdata_pipeline.storage.schema import TRADE_CANDLE_SCHEMA, TRADE_SCHEMA
from marketdata_pipeline.timeframes import DAY_MS, MINUTE_MS, TIMEFRAMES, WEEK_ORIGIN_MS
from marketdata_pipeline.trades.candles import combine, trade_candles


def trades(rows: list[tuple]) -> pl.DataFrame:
    """(timestamp ms, id, price, amount, side, first_trade_id, last_trade_id) rows."""
    frame = pl.DataFrame(
        rows,
        schema=["timestamp", "id", "price", "amount", "side", "first_trade_id", "last_trade_id"],
        orient="row",
    )
    return frame.with_columns(cost=pl.col("price") * pl.col("amount")).cast(TRADE_SCHEMA)


def test_one_minute_candles_hold_every_kline_field():
    t = trades(
        [
            (1_000, 1, 10.0, 1.0, "buy", 1, 2),
            (2_000, 2, 12.0, 2.0, "sell", 3, 5),
            (59_999, 3, 11.0, 0.5, "buy", 6, 6),
            (60_000, 4, 9.0, 1.0, "sell", 7, 7),
        ]
    )
    built = trade_candles(t, TIMEFRAMES["1m"], 0, 2 * MINUTE_MS)
    assert built.schema == TRADE_CANDLE_SCHEMA
    first, second = built.rows(named=True)
    assert first == {
        "open_time": first["open_time"],
        "open": 10.0,
        "high": 12.0,
        "low": 10.0,
        "close": 11.0,
        "volume": 3.5,
        "quote_volume": 10.0 + 24.0 + 5.5,
        "trades": 6,  # 2 + 3 + 1 exchange trades inside three aggregated ones
        "taker_buy_volume": 1.5,
        "taker_buy_quote_volume": 15.5,
    }
    assert (second["open"], second["close"], second["trades"]) == (9.0, 9.0, 1)
    assert second["taker_buy_volume"] == 0.0


def test_first_and_last_follow_time_then_id_not_row_order():
    t = trades([(5_000, 8, 7.0, 1.0, "buy", None, None), (5_000, 7, 6.0, 1.0, "buy", None, None)])
    (candle,) = trade_candles(t, TIMEFRAMES["1m"], 0, MINUTE_MS).rows(named=True)
    assert (candle["open"], candle["close"], candle["trades"]) == (6.0, 7.0, 2)


def test_a_bucket_without_trades_is_a_row_with_zero_volume_and_null_prices():
    t = trades([(0, 1, 10.0, 1.0, "buy", 1, 1), (2 * MINUTE_MS, 2, 11.0, 1.0, "buy", 2, 2)])
    built = trade_candles(t, TIMEFRAMES["1m"], 0, 3 * MINUTE_MS)
    empty = built.row(1, named=True)
    assert built.height == 3
    assert [empty[c] for c in ("open", "high", "low", "close")] == [None] * 4
    assert [empty[c] for c in ("volume", "quote_volume", "trades")] == [0.0, 0.0, 0]


def test_buckets_outside_the_range_are_not_built():
    t = trades([(30_000, 1, 10.0, 1.0, "buy", 1, 1), (90_000, 2, 11.0, 1.0, "buy", 2, 2)])
    built = trade_candles(t, TIMEFRAMES["1m"], MINUTE_MS, 2 * MINUTE_MS)
    assert built["open_time"].dt.epoch("ms").to_list() == [MINUTE_MS]
    assert built["open"].to_list() == [11.0]


def test_weekly_candles_combine_days_exactly_from_monday():
    monday = WEEK_ORIGIN_MS + 7 * DAY_MS
    t = trades(
        [
            (monday + 1, 1, 10.0, 1.0, "buy", 1, 1),
            (monday + DAY_MS + 5, 2, 15.0, 2.0, "sell", 2, 3),
            (monday + 2 * DAY_MS, 3, 8.0, 1.0, "buy", 4, 4),
        ]
    )
    days = trade_candles(t, TIMEFRAMES["1d"], monday, monday + 7 * DAY_MS)
    week = combine(days, TIMEFRAMES["1w"], monday, monday + 7 * DAY_MS)
    direct = trade_candles(t, TIMEFRAMES["1w"], monday, monday + 7 * DAY_MS)
    assert week.equals(direct)
    row = week.row(0, named=True)
    assert (row["open"], row["high"], row["low"], row["close"], row["trades"]) == (
        10.0,
        15.0,
        8.0,
        8.0,
        4,
    )
