"""SQL over every stored series: right answers, and reads pruned to the series and range asked."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest
from click.testing import CliRunner

from marketdata_pipeline.access.duck import SqlError
from marketdata_pipeline.access.market_data import MarketData
from marketdata_pipeline.access.sql_plan import plan
from marketdata_pipeline.cli.sql import sql
from marketdata_pipeline.storage.schema import INDICATORS, TRADE_SCHEMA
from marketdata_pipeline.timeframes import to_ms

from ..conftest import day_key, day_ms
from . import test_market_data
from .test_books import booked
from .test_market_data import traded


def btc_day2() -> str:
    return (
        "symbol = 'BTC/USDT' AND timeframe = '1m'"
        f" AND open_time >= '{day_key(2)}' AND open_time < '{day_key(1)}'"
    )


T = 1_704_067_200_000  # 2024-01-01
stored = test_market_data.stored  # the store filled through the pipeline
__all__ = ["booked", "traded"]  # trades, trade candles, books and tickers written to the store


def brief(query: str) -> dict[str, list[tuple]]:
    return {
        table: [
            (sorted((c, *sorted(v)) for c, v in f.values.items()), f.start_ms, f.end_ms)
            for f in filters
        ]
        for table, filters in plan(query).items()
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "SELECT * FROM candles WHERE exchange = 'binance' AND timeframe IN ('1m', '1h')"
            " AND open_time >= '2024-01-01' AND open_time < DATE '2024-01-02'",
            {
                "candles": [
                    ([("exchange", "binance"), ("timeframe", "1h", "1m")], T, T + 86_400_000)
                ]
            },
        ),
        (
            "SELECT * FROM candles c JOIN indicators i USING (symbol, open_time)"
            " WHERE 'X' = c.symbol AND open_time BETWEEN '2024-01-01' AND TIMESTAMP '2024-01-01 00:10'",
            {
                "candles": [([("symbol", "X")], T, T + 600_001)],
                "indicators": [([("symbol", "X")], T, T + 600_001)],
            },
        ),
        (
            "SELECT * FROM candles AS c, indicators AS i WHERE c.open_time = i.open_time"
            " AND i.open_time > '2024-01-01 00:00:00.0005+00' AND c.symbol = 'X'",
            {"candles": [([("symbol", "X")], T + 1, None)], "indicators": [([], T + 1, None)]},
        ),
        (
            "WITH m AS (SELECT * FROM candles WHERE symbol = 'X') SELECT * FROM m"
            " UNION ALL SELECT * FROM candles WHERE symbol = 'Y' AND open_time = '2024-01-01'",
            {"candles": [([("symbol", "X")], None, None), ([("symbol", "Y")], T, T + 1)]},
        ),
        (
            "SELECT * FROM candles WHERE symbol = 'X' OR symbol = 'Y'",
            {"candles": [([], None, None)]},
        ),
        (
            "SELECT * FROM candles WHERE lower(symbol) = 'x' AND open_time::DATE = '2024-01-01'"
            " AND NOT symbol = 'Y' AND symbol NOT IN ('Z')",
            {"candles": [([], None, None)]},
        ),
        (
            "SELECT * FROM candles c ASOF JOIN indicators i ON c.open_time >= i.open_time"
            " WHERE c.symbol = 'X' AND i.symbol = 'X'",
            {"candles": [([], None, None)], "indicators": [([], None, None)]},
        ),
        (
            "SELECT * FROM candles c LEFT JOIN indicators i ON i.open_time = c.open_time"
            " AND i.symbol = 'X' WHERE c.symbol = 'Y' AND symbol = 'Z'",
            {"candles": [([("symbol", "Y")], None, None)], "indicators": [([], None, None)]},
        ),
        (
            "SELECT * FROM candles WHERE symbol = 'X' USING SAMPLE 10 ROWS",
            {"candles": [([], None, None)]},
        ),
        (
            "SELECT * FROM trades WHERE symbol = 'X' AND timestamp >= '2024-01-01'"
            " AND timestamp < '2024-01-01 01:00' AND exchange IN ('binance')",
            {"trades": [([("exchange", "binance"), ("symbol", "X")], T, T + 3_600_000)]},
        ),
        (
            "SELECT * FROM trade_candles c JOIN trades t USING (exchange, symbol)"
            " WHERE c.open_time >= '2024-01-01' AND t.timestamp < '2024-01-01 01:00'"
            " AND c.timestamp > '2024-01-01' AND t.open_time < '2024-01-02' AND symbol = 'X'",
            {
                "trade_candles": [([("symbol", "X")], T, None)],
                "trades": [([("symbol", "X")], None, T + 3_600_000)],
            },
        ),
        (
            "SELECT * FROM order_books b JOIN book_metrics m USING (exchange, symbol, local_timestamp)"
            " JOIN tickers t USING (symbol, local_timestamp) WHERE symbol = 'X'"
            " AND local_timestamp >= '2024-01-01' AND b.timestamp < '2024-01-01 01:00'"
            " AND m.local_timestamp < '2024-01-01 01:00'",
            {
                "order_books": [([("symbol", "X")], T, T + 3_600_000)],
                "book_metrics": [([("symbol", "X")], T, T + 3_600_000)],
                "tickers": [([("symbol", "X")], T, T + 3_600_000)],
            },
        ),
        ("DESCRIBE indicators", {"indicators": []}),
        ("EXPLAIN SELECT * FROM candles WHERE symbol = 'X'", {"candles": [([], None, None)]}),
        ("SELECT 42", {}),
    ],
)
def test_plan_reads_what_simple_filters_allow_and_everything_else_in_full(query, expected):
    assert brief(query) == expected


def test_one_query_compares_every_series(stored):
    md = MarketData()
    frame = md.sql(
        "SELECT exchange, symbol, timeframe, count(*) AS n, min(open_time) AS first"
        " FROM candles GROUP BY ALL ORDER BY symbol, timeframe"
    )
    hourly = stored.store.read(stored.series("ETH/USDT", "1h")).height
    assert frame.select("symbol", "timeframe", "n").rows() == [
        ("BTC/USDT", "1m", 3 * 1440),
        ("ETH/USDT", "1h", hourly),
        ("ETH/USDT", "1m", 1440),
    ]
    assert frame["first"][0].timestamp() * 1000 == day_ms(3)
    assert md.last_scan.series_read == 3 and md.last_scan.rows_read == 4 * 1440 + hourly


def test_a_filtered_query_reads_only_that_series_and_range(stored):
    md = MarketData()
    by_hour = md.sql(
        "SELECT date_trunc('hour', open_time) AS hour, first(open ORDER BY open_time) AS open,"
        f" max(high) AS high, sum(volume) AS volume FROM candles WHERE {btc_day2()}"
        " GROUP BY hour ORDER BY hour"
    )
    assert (md.last_scan.rows_read, md.last_scan.series_read) == (1440, 1)
    candles = md.candles("binance", "BTC/USDT", "1m", day_key(2), day_key(1))
    expected = candles.group_by_dynamic("open_time", every="1h").agg(
        pl.col("open").first(), pl.col("high").max(), pl.col("volume").sum()
    )
    assert by_hour["high"].to_list() == expected["high"].to_list() and by_hour.height == 24
    assert by_hour["volume"].to_list() == pytest.approx(expected["volume"].to_list())

    hourly = stored.series("ETH/USDT", "1h")
    month = stored.store.read(hourly)["open_time"][0].replace(day=1, hour=0)
    after = (month + timedelta(days=31)).replace(day=1)
    md.sql(
        "SELECT avg(close) FROM candles WHERE symbol = 'ETH/USDT' AND timeframe = '1h'"
        f" AND open_time >= '{month:%Y-%m-%d}' AND open_time < DATE '{after:%Y-%m-%d}'"
    )
    in_month = stored.store.read(hourly, to_ms(month), to_ms(after)).height
    assert in_month > 0 and (md.last_scan.rows_read, md.last_scan.series_read) == (in_month, 1)


def test_joining_indicators_reads_one_series_of_each_table(stored):
    md = MarketData()
    frame = md.sql(
        "SELECT c.open_time, close, rsi14, macd FROM candles c JOIN indicators i"
        f" USING (exchange, symbol, timeframe, open_time) WHERE c.{btc_day2()} ORDER BY 1"
    )
    assert [(r.table, r.series, r.rows) for r in md.last_scan.reads] == [
        ("candles", "binance/btc_usdt/1m", 1440),
        (INDICATORS, "binance/btc_usdt/1m", 1440),
    ]
    joined = md.candles("binance", "BTC/USDT", "1m", day_key(2), day_key(1), indicators=True)
    assert frame.drop("open_time").equals(joined.select("close", "rsi14", "macd"))


@pytest.mark.parametrize(
    "where",
    [
        f"({btc_day2()}) OR symbol = 'NONE'",
        f"lower(symbol) = 'btc/usdt' AND timeframe || '' = '1m' AND open_time::DATE = '{day_key(2)}'",
    ],
)
def test_filters_the_planner_cannot_use_read_more_but_answer_the_same(stored, where):
    md = MarketData()
    frame = md.sql(f"SELECT count(*) AS n, sum(close) AS s FROM candles WHERE {where}")
    expected = md.candles("binance", "BTC/USDT", "1m", day_key(2), day_key(1))
    assert frame.row(0) == (1440, pytest.approx(expected["close"].sum()))
    assert md.last_scan.series_read == 3 and md.last_scan.rows_read > 4 * 1440


def test_indicators_table_and_describe(stored):
    md = MarketData()
    frame = md.sql(
        "SELECT * EXCLUDE (exchange, symbol, timeframe) FROM indicators"
        f" WHERE {btc_day2()} ORDER BY open_time"
    )
    assert frame.equals(
        stored.store.read(stored.series(), day_ms(2), day_ms(1), library=INDICATORS)
    )
    described = md.sql("DESCRIBE indicators")
    assert described["column_name"].to_list()[:5] == [
        "exchange",
        "symbol",
        "timeframe",
        "open_time",
        "rsi6",
    ]
    assert md.last_scan.rows_read == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELEC 1", 'Parser Error: syntax error at or near "SELEC"'),
        ("SELECT nope FROM candles", 'Binder Error: Referenced column "nope" not found'),
        ("SELECT * FROM orders", "Catalog Error: Table with name orders does not exist!"),
        ("SELECT 1; SELECT 2", "expected one SQL statement, got 2"),
    ],
)
def test_sql_errors_are_one_line(make_project, query, message):
    make_project()
    with pytest.raises(SqlError) as caught:
        MarketData().sql(query)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    result = CliRunner().invoke(sql, [query])
    assert result.exit_code == 2 and result.output == f"error: {caught.value}\n"


def test_cli_prints_or_saves_every_format(stored, tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETDATA_CONFIG", str(stored.config.path))
    query = f"SELECT symbol, open_time, close, NULL AS note FROM candles WHERE {btc_day2()} LIMIT 3"

    def run(*args: str) -> str:
        result = CliRunner().invoke(sql, [query, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    table = run().splitlines()
    assert table[0].split() == ["symbol", "open_time", "close", "note"] and len(table) == 4
    assert table[1].split()[:2] == ["BTC/USDT", day_key(2)] and table[1].split()[-1] == "null"
    assert run("--format", "csv").splitlines()[0] == "symbol,open_time,close,note"
    rows = json.loads(run("--format", "json"))
    assert len(rows) == 3 and set(rows[0]) == {"symbol", "open_time", "close", "note"}
    run("--format", "parquet", "--output", str(tmp_path / "out.parquet"))
    assert pl.read_parquet(tmp_path / "out.parquet").height == 3
    run("--format", "csv", "--output", str(tmp_path / "out.csv"))
    assert pl.read_csv(tmp_path / "out.csv").height == 3

    missing = CliRunner().invoke(sql, [query, "--format", "parquet"])
    assert (missing.exit_code, missing.output) == (
        2,
        "error: --format parquet needs --output FILE\n",
    )
    empty = CliRunner().invoke(sql, ["SELECT symbol FROM candles WHERE false"])
    assert empty.output == "symbol\n(0 rows)\n"


def test_trades_of_one_market_and_hour_read_only_that_hour(traded):
    md = MarketData()
    frame = md.sql(
        "SELECT exchange, symbol, count(*) AS n, min(id) AS first, max(id) AS last,"
        " sum(amount) AS volume FROM trades WHERE symbol = 'BTC/USDT'"
        f" AND timestamp >= '{day_key(2)} 01:00' AND timestamp < TIMESTAMP '{day_key(2)} 02:00' GROUP BY ALL"
    )
    assert frame.row(0) == ("binance", "BTC/USDT", 7200, 8200, 15_399, pytest.approx(21.6))
    assert [(r.table, r.series, r.rows) for r in md.last_scan.reads] == [
        ("trades", "binance/btc_usdt/trades", 7200)
    ]
    everything = md.sql("SELECT symbol, count(*) AS n FROM trades GROUP BY ALL ORDER BY ALL")
    assert everything.rows() == [("BTC/USDT", 3 * 7200 - 120), ("ETH/USDT", 7200)]
    assert md.last_scan.rows_read == 4 * 7200 - 120 and md.last_scan.series_read == 2


def test_trade_candles_are_pruned_like_candles_and_join_the_trades(traded):
    md = MarketData()
    frame = md.sql(
        "SELECT c.open_time, c.trades, c.volume, count(t.id) AS rows, sum(t.amount) AS amount"
        " FROM trade_candles c JOIN trades t ON t.symbol = c.symbol"
        " AND t.timestamp >= c.open_time AND t.timestamp < c.open_time + INTERVAL 1 MINUTE"
        f" WHERE c.symbol = 'BTC/USDT' AND c.timeframe = '1m' AND c.open_time >= '{day_key(2)} 01:00'"
        f" AND c.open_time < '{day_key(2)} 02:00' AND t.timestamp >= '{day_key(2)} 01:00'"
        f" AND t.timestamp < '{day_key(2)} 02:00' GROUP BY ALL ORDER BY 1"
    )
    assert frame.height == 60 and frame["rows"].to_list() == [120] * 60
    assert frame["trades"].to_list() == [240] * 60
    assert frame["volume"].to_list() == pytest.approx(frame["amount"].to_list())
    assert sorted((r.table, r.series, r.rows) for r in md.last_scan.reads) == [
        ("trade_candles", "binance/btc_usdt/1m", 60),
        ("trades", "binance/btc_usdt/trades", 7200),
    ]
    described = md.sql("DESCRIBE trades")["column_name"].to_list()
    assert described == ["exchange", "symbol", *TRADE_SCHEMA]
    empty = md.sql(f"SELECT * FROM trade_candles WHERE open_time = '{day_key(2)} 02:30'")
    assert empty.select("timeframe", "open", "volume", "trades").rows() == [("1m", None, 0.0, 0)]


def test_order_books_of_one_market_and_minute_read_only_those_snapshots(booked):
    md = MarketData()
    frame = md.sql(
        "SELECT exchange, symbol, local_timestamp, update_id, bid_price_0, ask_amount_2"
        " FROM order_books WHERE symbol = 'BTC/USDT'"
        f" AND local_timestamp >= '{day_key(2)} 00:00:30' AND local_timestamp < '{day_key(2)} 00:01'"
        " ORDER BY local_timestamp"
    )
    assert frame.drop("local_timestamp").rows() == [
        ("binance", "BTC/USDT", 103, 102.5, 3.5),
        ("binance", "BTC/USDT", 104, 103.5, 3.5),
        ("binance", "BTC/USDT", 105, 104.5, 3.5),
    ]
    assert [(r.table, r.series, r.rows) for r in md.last_scan.reads] == [
        ("order_books", "binance/btc_usdt/order_book", 3)
    ]
    described = md.sql("DESCRIBE order_books")["column_name"].to_list()
    assert described[:5] == ["exchange", "symbol", "local_timestamp", "timestamp", "update_id"]
    assert len(described) == 5 + 4 * 3  # the deepest book's levels: ETH/USDT's 2 are a prefix
    eth = md.sql("SELECT bid_price_1, bid_price_2 FROM order_books WHERE symbol = 'ETH/USDT'")
    assert eth.row(0) == (99.0, None) and eth.height == 6


def test_metrics_and_tickers_join_on_the_receive_time(booked):
    md = MarketData()
    frame = md.sql(
        "SELECT m.mid, m.spread_bps, t.last, t.bid FROM book_metrics m"
        " JOIN tickers t USING (exchange, symbol, local_timestamp)"
        f" WHERE symbol = 'BTC/USDT' AND local_timestamp < '{day_key(2)} 00:00:20' ORDER BY 1"
    )
    assert frame.rows() == [(100.0, 100.0, 100.0, 99.5), (101.0, 1e4 / 101, 101.0, 100.5)]
    assert sorted((r.table, r.series, r.rows) for r in md.last_scan.reads) == [
        ("book_metrics", "binance/btc_usdt/order_book", 2),
        ("tickers", "binance/btc_usdt/ticker", 2),
    ]
    counts = md.sql("SELECT symbol, count(*) FROM book_metrics GROUP BY ALL ORDER BY ALL")
    assert counts.rows() == [("BTC/USDT", 6)]  # none computed for ETH/USDT
