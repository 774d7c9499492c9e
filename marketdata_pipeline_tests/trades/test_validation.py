"""Rules over stored trades and the comparison of trade candles with exchange candles."""

import polars as pl

from marketdata_pipeline.storage.schema import TRADE_SCHEMA
from marketdata_pipeline.trades.validation import (
    candle_mismatches,
    trade_findings,
    unconfirmed_holes,
)


def frame(ids: list[int], prices: list[float] | None = None) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "timestamp": [1000 * i for i in range(n)],
            "id": ids,
            "price": prices or [1.0] * n,
            "amount": [1.0] * n,
            "cost": [1.0] * n,
            "side": ["buy"] * n,
            "first_trade_id": ids,
            "last_trade_id": ids,
        }
    ).cast(TRADE_SCHEMA)


def by_rule(findings):
    return {f.rule: f.violations for f in findings}


def test_contiguous_ids_pass_every_rule():
    assert set(by_rule(trade_findings(frame([5, 6, 7]), [], contiguous=True)).values()) == {0}


def test_a_hole_counts_its_missing_ids_unless_the_exchange_confirmed_it():
    trades = frame([1, 2, 6, 7, 9])
    assert unconfirmed_holes(trades["id"], []) == [(3, 6), (8, 9)]
    assert by_rule(trade_findings(trades, [], contiguous=True))["id_hole"] == 4
    assert by_rule(trade_findings(trades, [(3, 6)], contiguous=True))["id_hole"] == 1
    assert "id_hole" not in by_rule(trade_findings(trades, [], contiguous=False))


def test_duplicates_disorder_and_bad_prices_are_counted():
    found = by_rule(trade_findings(frame([1, 2, 2, 1], [1.0, 0.0, 1.0, 1.0]), [], True))
    assert found["duplicate_id"] == 4
    assert found["id_out_of_order"] == 2
    assert found["price_not_positive"] == 1


def candles(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema=["open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades"],
        orient="row",
    ).with_columns(pl.col("open_time").cast(pl.Datetime("ms", "UTC")))


def test_mismatches_name_each_differing_field_and_empty_buckets_match_empty_candles():
    built = candles(
        [
            (0, 1.0, 2.0, 0.5, 1.5, 10.0, 15.0, 3),
            (60_000, None, None, None, None, 0.0, 0.0, 0),
            (120_000, 1.0, 2.0, 0.5, 1.5, 10.0, 15.0, 3),
        ]
    )
    exchange = candles(
        [
            (0, 1.0, 2.0, 0.5, 1.5, 10.0 * (1 + 1e-12), 15.0, 3),
            (60_000, 1.5, 1.5, 1.5, 1.5, 0.0, 0.0, 0),
            (120_000, 1.0, 2.1, 0.5, 1.5, 10.1, 15.0, 4),
        ]
    )
    differing = candle_mismatches(built, exchange)
    assert differing["open_time"].dt.epoch("ms").to_list() == [120_000]
    assert differing["fields"].to_list() == ["high,trades,volume"]
