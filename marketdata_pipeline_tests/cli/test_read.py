"""`marketdata trades`, `candles --from-trades`, `books`, `tickers` and `series` over what was
written to the store, and what the collector stored."""

from __future__ import annotations

import json

import polars as pl
from click.testing import CliRunner

from marketdata_pipeline.cli.main import main
from marketdata_pipeline.storage.schema import ORDER_BOOKS, TICKERS

from ..access.test_books import booked
from ..access.test_market_data import traded
from ..conftest import day_key
from ..streaming.test_collector import book_project, collect

__all__ = ["booked", "traded"]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_trades_in_every_format(traded, tmp_path):
    window = ["--start", f"{day_key(2)}T01:00", "--end", f"{day_key(2)}T01:00:01"]
    csv = invoke("trades", "binance", "btc/usdt", *window)
    assert (csv.exit_code, csv.stdout.splitlines()) == (
        0,
        [
            "timestamp,id,price,amount,cost,side,first_trade_id,last_trade_id",
            f"{day_key(2)}T01:00:00.000+0000,8200,50002.0,0.001,{50002.0 * 0.001},buy,82000,82000",
            f"{day_key(2)}T01:00:00.000+0000,8201,50002.5,0.002,{50002.5 * 0.002},sell,82010,82011",
        ],
    )
    rows = json.loads(invoke("trades", "binance", "BTC/USDT", "--format", "json", *window).stdout)
    assert [(r["id"], r["side"]) for r in rows] == [(8200, "buy"), (8201, "sell")]
    out = tmp_path / "t.parquet"
    saved = invoke("trades", "binance", "BTC/USDT", "--format", "parquet", "--output", str(out))
    assert saved.exit_code == 0 and pl.read_parquet(out).height == 3 * 7200 - 120


def test_candles_from_trades(traded):
    result = invoke(
        "candles", "binance", "BTC/USDT", "1m", "--from-trades", "--start", f"{day_key(2)}T02:30"
    )
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "open_time,open,high,low,close,volume,quote_volume,trades,taker_buy_volume,"
        "taker_buy_quote_volume"
    )
    assert lines[1] == f"{day_key(2)}T02:30:00.000+0000,,,,,0.0,0.0,0,0.0,0.0"
    fields = lines[2].split(",")  # trades 18120..18239 at 02:31
    assert fields[:5] == [
        f"{day_key(2)}T02:31:00.000+0000",
        "50002.0",
        "50003.0",
        "50000.0",
        "50002.0",
    ]
    assert fields[7] == "240" and len(lines) == 1 + 30


def test_series_lists_trade_series_without_timeframe(traded):
    table = invoke("series").stdout.splitlines()
    assert table[0].split() == [
        *("exchange", "symbol", "timeframe", "data", "start", "first", "last", "rows")
    ]
    trades = [line.split() for line in table if " trades " in line]
    assert [(r[1], r[2], r[-1]) for r in trades] == [
        ("BTC/USDT", "-", "21480"),
        ("ETH/USDT", "-", "7200"),
    ]
    assert trades[0][-5:-1] == [day_key(2), "00:00", day_key(2), "02:59"]


def test_a_market_without_trades_is_one_line_naming_the_fix(traded):
    fix = (
        "error: binance SOL/USDT collects no trades; set `trades: true` on"
        f" exchanges[binance].markets[SOL/USDT] in {traded.config.path}, then sync\n"
    )
    for args in (
        ["trades", "binance", "SOL/USDT"],
        ["candles", "binance", "sol/usdt", "1m", "--from-trades"],
    ):
        result = invoke(*args)
        assert (result.exit_code, result.output) == (2, fix)
    both = invoke("candles", "binance", "BTC/USDT", "1m", "--from-trades", "--indicators")
    assert (both.exit_code, both.output) == (
        2,
        "error: --indicators belong to the exchange's candles, not to those built from trades;"
        " drop one of --indicators and --from-trades\n",
    )
    late = invoke("trades", "binance", "BTC/USDT", "--start", "2024-01-02", "--end", "2024-01-01")
    assert late.exit_code == 2 and late.output.startswith("error: --start 2024-01-02 is not")


def test_books_in_every_format_with_depth_and_metrics(booked, tmp_path):
    window = ["--start", day_key(2), "--end", f"{day_key(2)}T00:00:20"]
    csv = invoke("books", "binance", "btc/usdt", *window, "--depth", "1")
    assert (csv.exit_code, csv.stdout.splitlines()) == (
        0,
        [
            "local_timestamp,timestamp,update_id,bid_price_0,bid_amount_0,ask_price_0,ask_amount_0",
            f"{day_key(2)}T00:00:00.007+0000,,100,99.5,1.0,100.5,1.5",
            f"{day_key(2)}T00:00:10.007+0000,,101,100.5,1.0,101.5,1.5",
        ],
    )
    metrics = invoke(
        "books", "binance", "BTC/USDT", "--depth", "0", "--metrics", "--format", "json"
    )
    rows = json.loads(metrics.stdout)
    assert [r["mid"] for r in rows] == [100.0 + k for k in range(6)] + [None] * 6
    assert list(rows[0])[:5] == ["local_timestamp", "timestamp", "update_id", "mid", "spread"]
    out = tmp_path / "b.parquet"
    saved = invoke("books", "binance", "BTC/USDT", "--format", "parquet", "--output", str(out))
    assert saved.exit_code == 0 and pl.read_parquet(out).shape == (12, 3 + 4 * 3)


def test_tickers_in_csv(booked):
    result = invoke("tickers", "binance", "BTC/USDT", "--start", f"{day_key(2)}T00:01:50")
    assert result.stdout.splitlines() == [
        "local_timestamp,timestamp,bid,ask,bid_volume,ask_volume,last,open,high,low,base_volume,"
        "quote_volume,vwap,change_pct",
        f"{day_key(2)}T00:01:50.007+0000,{day_key(2)}T00:01:50.007+0000,110.5,111.5,,,111.0,,,,110.0,,,",
    ]


def test_books_and_tickers_a_market_lacks_are_one_line_naming_the_fix(booked):
    path = booked.config.path
    book = invoke("books", "binance", "SOL/USDT")
    assert (book.exit_code, book.output) == (
        2,
        "error: binance SOL/USDT collects no order book; set `order_book: {depth: 20,"
        f" every_seconds: 10}}` on exchanges[binance].markets[SOL/USDT] in {path}, then run"
        " `marketdata stream`\n",
    )
    ticker = invoke("tickers", "binance", "sol/usdt")
    assert (ticker.exit_code, ticker.output) == (
        2,
        "error: binance SOL/USDT collects no ticker; set `ticker: true` on"
        f" exchanges[binance].markets[SOL/USDT] in {path}, then run `marketdata stream`\n",
    )
    deep = invoke("books", "binance", "BTC/USDT", "--depth", "9")
    assert (deep.exit_code, deep.output) == (
        2,
        "error: --depth 9: binance BTC/USDT keeps 3 levels per side; ask for 0 to 3\n",
    )
    assert invoke("books", "binance", "BTC/USDT", "--depth", "-1").exit_code == 2


def test_series_lists_books_and_tickers(booked):
    table = invoke("series").stdout.splitlines()
    polled = [line.split() for line in table if " order_book " in line or " ticker " in line]
    assert [(r[1], r[2], r[3], r[-1]) for r in polled] == [
        ("BTC/USDT", "-", "order_book", "12"),
        ("BTC/USDT", "-", "ticker", "12"),
        ("ETH/USDT", "-", "order_book", "6"),
        ("ETH/USDT", "-", "ticker", "12"),
    ]


def test_books_read_what_the_collector_stored(make_project, simulator):
    project, book, tickers = book_project(make_project)
    collect(project, 60, until=2)
    stored = project.store.read(book, None, None, ORDER_BOOKS)
    assert stored.height >= 2
    rows = json.loads(invoke("books", "binance", "BTC/USDT", "--format", "json").stdout)
    assert [r["update_id"] for r in rows] == stored["update_id"].to_list()
    assert [r["bid_price_4"] for r in rows] == stored["bid_price_4"].to_list()
    ticks = json.loads(invoke("tickers", "binance", "ETH/USDT", "--format", "json").stdout)
    assert [t["bid"] for t in ticks] == project.store.read(tickers[1], None, None, TICKERS)[
        "bid"
    ].to_list()
