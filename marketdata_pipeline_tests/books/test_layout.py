"""ccxt's order books and tickers into the stored wide layout."""

import ccxt
import polars as pl
import pytest

from marketdata_pipeline.books.layout import (
    TICKER_SCHEMA,
    book_schema,
    snapshot_rows,
    ticker_rows,
)

# A Binance GET /api/v3/depth answer, as Binance's API documentation shows it.
BINANCE_DEPTH = {
    "lastUpdateId": 1027024,
    "bids": [["4.00000000", "431.00000000"]],
    "asks": [["4.00000200", "12.00000000"]],
}


def binance() -> ccxt.binance:
    exchange = ccxt.binance()
    exchange.set_markets(
        [
            {"id": i, "symbol": s, "base": b, "quote": "USDT", "baseId": b, "quoteId": "USDT"}
            | {"type": "spot", "spot": True, "contract": False, "active": True}
            for i, s, b in [("BTCUSDT", "BTC/USDT", "BTC"), ("ETHUSDT", "ETH/USDT", "ETH")]
        ]
    )
    return exchange


def fetched_book(exchange: ccxt.binance, response: dict) -> dict:
    """What `fetch_order_book` returns for a depth answer: ccxt's parse, then its nonce."""
    book = exchange.parse_order_book(response, "BTC/USDT", exchange.safe_integer(response, "T"))
    book["nonce"] = exchange.safe_integer_2(response, "lastUpdateId", "u")
    return book


def test_the_schema_groups_levels_by_side_and_field():
    assert list(book_schema(2)) == [
        "timestamp",
        "local_timestamp",
        "update_id",
        "bid_price_0",
        "bid_price_1",
        "bid_amount_0",
        "bid_amount_1",
        "ask_price_0",
        "ask_price_1",
        "ask_amount_0",
        "ask_amount_1",
    ]


def test_a_binance_book_parsed_by_ccxt_becomes_one_row_with_missing_levels_null():
    frame = snapshot_rows([fetched_book(binance(), BINANCE_DEPTH)], 3, 1_700_000_000_123)
    assert frame.schema == book_schema(3)
    row = frame.with_columns(pl.col("local_timestamp").dt.epoch("ms")).row(0, named=True)
    assert row == {
        "timestamp": None,  # Binance's spot depth carries no exchange time
        "local_timestamp": 1_700_000_000_123,
        "update_id": 1027024,
        "bid_price_0": 4.0,
        "bid_price_1": None,
        "bid_price_2": None,
        "bid_amount_0": 431.0,
        "bid_amount_1": None,
        "bid_amount_2": None,
        "ask_price_0": 4.000002,
        "ask_price_1": None,
        "ask_price_2": None,
        "ask_amount_0": 12.0,
        "ask_amount_1": None,
        "ask_amount_2": None,
    }


def test_books_deeper_than_depth_are_cut_and_each_keeps_its_times_and_id():
    exchange = binance()
    deep = {
        "T": 1_700_000_000_000,
        "u": 7,
        "bids": [["10", "1"], ["9", "2"], ["8", "3"]],
        "asks": [["11", "4"], ["12", "5"], ["13", "6"]],
    }
    books = [fetched_book(exchange, deep), fetched_book(exchange, BINANCE_DEPTH)]
    frame = snapshot_rows(books, 2, [1_700_000_000_050, 1_700_000_000_090])
    assert frame.select(pl.col("timestamp", "local_timestamp").dt.epoch("ms")).rows() == [
        (1_700_000_000_000, 1_700_000_000_050),
        (None, 1_700_000_000_090),
    ]
    assert frame["update_id"].to_list() == [7, 1027024]
    assert frame.row(0)[3:] == (10.0, 9.0, 1.0, 2.0, 11.0, 12.0, 4.0, 5.0)
    with pytest.raises(ValueError, match="1 receive times for 2 books"):
        snapshot_rows(books, 2, [1])


def test_levels_with_a_count_or_order_id_keep_price_and_amount():
    book = {"bids": [[5.0, 1.5, 3]], "asks": [], "timestamp": None, "nonce": None}
    row = snapshot_rows([book], 1, 0).row(0)
    assert row[2:] == (None, 5.0, 1.5, None, None)


def test_tickers_from_one_fetch_tickers_answer_share_one_frame_with_their_symbol():
    exchange = binance()
    full = {
        "symbol": "BTCUSDT",
        "priceChangePercent": "-0.159",
        "weightedAvgPrice": "118356.64734074",
        "lastPrice": "118449.03000000",
        "bidPrice": "118449.02000000",
        "bidQty": "7.15931000",
        "askPrice": "118449.03000000",
        "askQty": "0.09592000",
        "openPrice": "118637.21000000",
        "highPrice": "119273.36000000",
        "lowPrice": "117427.50000000",
        "volume": "14741.41491000",
        "quoteVolume": "1744744445.80640740",
        "closeTime": "1753787874013",
    }
    # bookTicker answers carry no time: the row takes the receive time.
    book_ticker = {"symbol": "ETHUSDT", "bidPrice": "3000.1", "bidQty": "2", "askPrice": "3000.2"}
    tickers = exchange.parse_tickers([full, book_ticker])
    frame = ticker_rows(tickers, 1_753_787_875_000)
    assert frame.schema == {**TICKER_SCHEMA, "symbol": pl.String()}
    rows = frame.with_columns(pl.col(pl.Datetime).dt.epoch("ms")).rows(named=True)
    assert rows[0] == {
        "local_timestamp": 1_753_787_875_000,
        "timestamp": 1753787874013,
        "bid": 118449.02,
        "ask": 118449.03,
        "bid_volume": 7.15931,
        "ask_volume": 0.09592,
        "last": 118449.03,
        "open": 118637.21,
        "high": 119273.36,
        "low": 117427.5,
        "base_volume": 14741.41491,
        "quote_volume": 1744744445.8064075,
        "vwap": 118356.64734074,
        "change_pct": -0.159,
        "symbol": "BTC/USDT",
    }
    assert (rows[1]["timestamp"], rows[1]["symbol"]) == (1_753_787_875_000, "ETH/USDT")
    assert (rows[1]["bid"], rows[1]["bid_volume"], rows[1]["ask"]) == (3000.1, 2.0, 3000.2)
    assert rows[1]["last"] is None
    assert set(frame.partition_by("symbol", as_dict=True)) == {("BTC/USDT",), ("ETH/USDT",)}
