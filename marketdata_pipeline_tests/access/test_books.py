"""Book snapshots and tickers through the Python API: levels by depth, metrics joined on the
receive time (null until computed), tickers, and the fix for a market that collects neither."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from marketdata_pipeline import MarketData
from marketdata_pipeline.access.books import BookDepthError, stored_book_schema
from marketdata_pipeline.books.layout import snapshot_rows, ticker_rows
from marketdata_pipeline.books.metrics import book_metrics
from marketdata_pipeline.config import ConfigError
from marketdata_pipeline.storage.schema import (
    BOOK_METRICS,
    METRIC_COLUMNS,
    ORDER_BOOKS,
    TICKER_SCHEMA,
    TICKERS,
)

from ..conftest import day_key, day_ms, market

T0 = day_ms(2)
SNAPSHOTS = 12  # BTC/USDT: one every 10 s from 00:00 two days ago, received 7 ms after the slot
COMPUTED = 6  # metrics stored for the first minute only, as if the day were not computed yet


def btc_book(k: int) -> dict:
    """Snapshot k: mid 100 + k, spread 1, three levels a side (two bids in the last one)."""
    mid = 100.0 + k
    bids = [[mid - 0.5 - i / 2, 1.0 + i] for i in range(3 if k < SNAPSHOTS - 1 else 2)]
    asks = [[mid + 0.5 + i / 2, 1.5 + i] for i in range(3)]
    return {"bids": bids, "asks": asks, "timestamp": None, "nonce": 100 + k}


def btc_ticker(k: int) -> dict:
    return {"bid": 99.5 + k, "ask": 100.5 + k, "last": 100.0 + k, "baseVolume": 10.0 * k}


def received(k: int) -> int:
    return T0 + 10_000 * k + 7


def stored_order(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select("local_timestamp", pl.exclude("local_timestamp"))


@pytest.fixture
def booked(make_project):
    """Written straight to the store: BTC/USDT (depth 3) 12 snapshots and tickers, metrics for
    the first 6; ETH/USDT (depth 2) 6 snapshots received 5 s after BTC's, with exchange times
    3 ms before that, and tickers; SOL/USDT collects neither."""
    book = {"order_book": {"depth": 3, "every_seconds": 10}, "ticker": True}
    project = make_project(
        [
            market("BTC/USDT", **book),
            market("ETH/USDT", order_book={"depth": 2, "every_seconds": 10}, ticker=True),
            market("SOL/USDT"),
        ]
    )
    btc, eth = (s for s in project.config.polled_series if s.data == "order_book")
    store = project.store
    books = [btc_book(k) for k in range(SNAPSHOTS)]
    times = [received(k) for k in range(SNAPSHOTS)]
    snapshots = stored_order(snapshot_rows(books, 3, times))
    store.write(btc, snapshots, T0, T0 + 120_000, ORDER_BOOKS)
    metrics = stored_order(book_metrics(snapshots.head(COMPUTED), 3))
    store.replace(btc, metrics, T0, T0 + 60_000, BOOK_METRICS)
    eth_books = [
        {**btc_book(k), "timestamp": received(k) + 5000 - 3, "nonce": 7 + k} for k in range(6)
    ]
    eth_rows = snapshot_rows(eth_books, 2, [received(k) + 5000 for k in range(6)])
    store.write(eth, stored_order(eth_rows), T0, T0 + 60_000, ORDER_BOOKS)
    polled = [
        ticker_rows({"BTC/USDT": btc_ticker(k), "ETH/USDT": {"bid": 3.0, "ask": 3.5}}, received(k))
        for k in range(SNAPSHOTS)
    ]
    by_symbol = pl.concat(polled).partition_by("symbol", as_dict=True)
    for ticker in (s for s in project.config.polled_series if s.data == "ticker"):
        rows = by_symbol[(ticker.symbol,)].drop("symbol")
        store.write(ticker, rows, T0, T0 + 120_000, TICKERS)
    return project


def at(k: int, offset_ms: int = 7) -> datetime:
    return datetime.fromtimestamp((T0 + 10_000 * k + offset_ms) / 1000, UTC)


def test_levels_up_to_the_depth_asked_for_with_their_exact_values(booked):
    md = MarketData()
    whole = md.order_book("binance", "btc/usdt")
    assert whole.schema == pl.Schema(stored_book_schema(3)) and whole.height == SNAPSHOTS
    assert whole.columns[:6] == [
        *("local_timestamp", "timestamp", "update_id"),
        *("bid_price_0", "bid_price_1", "bid_price_2"),
    ]
    assert whole.row(0) == (
        *(at(0), None, 100),
        *(99.5, 99.0, 98.5, 1.0, 2.0, 3.0),
        *(100.5, 101.0, 101.5, 1.5, 2.5, 3.5),
    )
    assert whole.row(SNAPSHOTS - 1)[3:6] == (110.5, 110.0, None)  # a book with two bids
    top = md.order_book(
        "binance", "BTC/USDT", f"{day_key(2)}T00:00:10.007", f"{day_key(2)}T00:00:30.007", 1
    )
    assert top.rows() == [
        (at(1), None, 101, 100.5, 1.0, 101.5, 1.5),
        (at(2), None, 102, 101.5, 1.0, 102.5, 1.5),
    ]
    bare = md.order_book("binance", "BTC/USDT", depth=0)
    assert bare.columns == ["local_timestamp", "timestamp", "update_id"]
    eth = md.order_book("binance", "ETH/USDT", end=f"{day_key(2)}T00:00:10")
    assert eth.rows() == [
        (at(0, 5007), at(0, 5004), 7, 99.5, 99.0, 1.0, 2.0, 100.5, 101.0, 1.5, 2.5)
    ]


def test_metrics_join_on_the_receive_time_and_are_null_until_computed(booked):
    frame = MarketData().order_book("binance", "BTC/USDT", depth=0, metrics=True)
    assert frame.columns == ["local_timestamp", "timestamp", "update_id", *METRIC_COLUMNS[2:]]
    assert frame["mid"].to_list() == [100.0 + k for k in range(COMPUTED)] + [None] * COMPUTED
    assert frame["spread_bps"][0] == 100.0  # 1 / 100 in bps
    # within 50 bps of mid 100: the bid at 99.5 (the edge counts) and the ask at 100.5
    first = frame.row(0, named=True)
    assert (first["bid_depth_50bps_base"], first["ask_depth_50bps_quote"]) == (1.0, 150.75)
    assert first["imbalance_1"] == pytest.approx((1.0 - 1.5) / 2.5)
    both = MarketData().order_book(
        "binance", "BTC/USDT", end=f"{day_key(2)}T00:00:01", metrics=True
    )
    assert both.width == 3 + 12 + len(METRIC_COLUMNS) - 2 and both["mid"].to_list() == [100.0]


def test_tickers_by_receive_time(booked):
    md = MarketData()
    frame = md.tickers("binance", "BTC/USDT", f"{day_key(2)}T00:01", f"{day_key(2)}T00:01:20")
    assert frame.schema == pl.Schema(TICKER_SCHEMA)
    assert frame.select("local_timestamp", "timestamp", "bid", "ask", "last").rows() == [
        (at(6), at(6), 105.5, 106.5, 106.0),  # no exchange time: the receive time
        (at(7), at(7), 106.5, 107.5, 107.0),
    ]
    assert frame["base_volume"].to_list() == [60.0, 70.0] and frame["vwap"].null_count() == 2
    assert md.tickers("binance", "ETH/USDT")["ask"].to_list() == [3.5] * SNAPSHOTS


def test_nothing_stored_reads_as_an_empty_frame_of_the_right_columns(make_project):
    make_project([market(order_book={"depth": 2, "every_seconds": 10}, ticker=True)])
    md = MarketData()
    assert md.order_book("binance", "BTC/USDT").schema == pl.Schema(stored_book_schema(2))
    metrics = md.order_book("binance", "BTC/USDT", depth=0, metrics=True)
    assert metrics.is_empty() and metrics.columns[3:] == list(METRIC_COLUMNS[2:])
    assert md.tickers("binance", "BTC/USDT").schema == pl.Schema(TICKER_SCHEMA)


def test_what_a_market_does_not_collect_is_one_line_naming_the_fix(booked):
    md = MarketData()
    path = booked.config.path
    with pytest.raises(ConfigError) as caught:
        md.order_book("binance", "sol/usdt")
    assert str(caught.value) == (
        "binance SOL/USDT collects no order book; set `order_book: {depth: 20, every_seconds:"
        f" 10}}` on exchanges[binance].markets[SOL/USDT] in {path}, then run `marketdata stream`"
    )
    with pytest.raises(ConfigError) as caught:
        md.tickers("binance", "SOL/USDT")
    assert str(caught.value) == (
        "binance SOL/USDT collects no ticker; set `ticker: true` on"
        f" exchanges[binance].markets[SOL/USDT] in {path}, then run `marketdata stream`"
    )
    with pytest.raises(ConfigError, match="no configured series matches exchange=binance"):
        md.tickers("binance", "DOGE/USDT")
    with pytest.raises(BookDepthError) as caught:
        md.order_book("binance", "BTC/USDT", depth=4)
    assert str(caught.value) == "depth 4: binance BTC/USDT keeps 3 levels per side; ask for 0 to 3"
    with pytest.raises(ValueError, match=r"^start 2024-01-02 is not before end 2024-01-01"):
        md.order_book("binance", "BTC/USDT", "2024-01-02", "2024-01-01")


def test_series_lists_books_and_tickers_after_the_trades(booked):
    frame = MarketData().series().filter(pl.col("timeframe").is_null())
    assert frame.select("symbol", "data", "first", "last", "rows").rows() == [
        ("BTC/USDT", "order_book", at(0), at(SNAPSHOTS - 1), SNAPSHOTS),
        ("BTC/USDT", "ticker", at(0), at(SNAPSHOTS - 1), SNAPSHOTS),
        ("ETH/USDT", "order_book", at(0, 5007), at(5, 5007), 6),
        ("ETH/USDT", "ticker", at(0), at(SNAPSHOTS - 1), SNAPSHOTS),
    ]
