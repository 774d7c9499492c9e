"""Raw trade pages: parsed exactly, anything unreadable is a bad page, holes are named."""

import polars as pl
import pytest

from marketdata_pipeline.exchange.errors import MalformedPage
from marketdata_pipeline.exchange.quirks import RAW_TRADES
from marketdata_pipeline.exchange.trades import _holes, parse_raw_trades, unified_trades

AGG = RAW_TRADES["binance"]
ROW = {"a": 7, "p": "100.5", "q": "0.25", "f": 10, "l": 12, "T": 1_700_000_000_123, "m": True}


def test_binance_agg_trades_parse_to_the_stored_schema_exactly():
    frame = parse_raw_trades([{**ROW, "a": 8, "m": False}, ROW], AGG)
    assert frame.with_columns(pl.col("timestamp").dt.epoch("ms")).rows() == [
        (1_700_000_000_123, 7, 100.5, 0.25, 25.125, "sell", 10, 12),
        (1_700_000_000_123, 8, 100.5, 0.25, 25.125, "buy", 10, 12),
    ]


@pytest.mark.parametrize(
    "rows",
    [{"code": -1, "msg": "x"}, [{**ROW, "p": None}], [{k: v for k, v in ROW.items() if k != "a"}]],
)
def test_an_unreadable_answer_is_a_malformed_page(rows):
    with pytest.raises(MalformedPage):
        parse_raw_trades(rows, AGG)


def test_holes_are_the_ids_missing_up_to_the_last_one_served():
    raw = pl.DataFrame({"id": [5, 6, 9, 12]})
    assert _holes([5, 6, 9], 5, 10, raw) == [(7, 9)]
    assert _holes([6, 9], 5, 10, raw) == [(5, 6), (7, 9)]
    assert _holes([5, 6, 9, 12], 5, 13, raw) == [(7, 9), (10, 12)]
    assert _holes([], 5, 10, pl.DataFrame({"id": []})) == []


def test_unified_trades_keep_numeric_ids_as_integers():
    frame = unified_trades(
        [{"timestamp": 1, "id": "42", "price": 2.0, "amount": 3.0, "cost": 6.0, "side": "buy"}]
    )
    assert frame["id"].to_list() == [42] and frame["first_trade_id"].to_list() == [None]
