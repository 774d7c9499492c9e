"""`marketdata trades`, `candles --from-trades` and `series` over trades written to the store."""

from __future__ import annotations

import json

import polars as pl
from click.testing import CliRunner

from marketdata_pipeline.cli.main import main

from ..access.test_market_data import traded
from ..conftest import day_key

__all__ = ["traded"]
DAY2 = day_key(2)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_trades_in_every_format(traded, tmp_path):
    window = ["--start", f"{DAY2}T01:00", "--end", f"{DAY2}T01:00:01"]
    csv = invoke("trades", "binance", "btc/usdt", *window)
    assert (csv.exit_code, csv.stdout.splitlines()) == (
        0,
        [
            "timestamp,id,price,amount,cost,side,first_trade_id,last_trade_id",
            f"{DAY2}T01:00:00.000+0000,8200,50002.0,0.001,{50002.0 * 0.001},buy,82000,82000",
            f"{DAY2}T01:00:00.000+0000,8201,50002.5,0.002,{50002.5 * 0.002},sell,82010,82011",
        ],
    )
    rows = json.loads(invoke("trades", "binance", "BTC/USDT", "--format", "json", *window).stdout)
    assert [(r["id"], r["side"]) for r in rows] == [(8200, "buy"), (8201, "sell")]
    out = tmp_path / "t.parquet"
    saved = invoke("trades", "binance", "BTC/USDT", "--format", "parquet", "--output", str(out))
    assert saved.exit_code == 0 and pl.read_parquet(out).height == 3 * 7200 - 120


def test_candles_from_trades(traded):
    result = invoke(
        "candles", "binance", "BTC/USDT", "1m", "--from-trades", "--start", f"{DAY2}T02:30"
    )
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "open_time,open,high,low,close,volume,quote_volume,trades,taker_buy_volume,"
        "taker_buy_quote_volume"
    )
    assert lines[1] == f"{DAY2}T02:30:00.000+0000,,,,,0.0,0.0,0,0.0,0.0"
    fields = lines[2].split(",")  # trades 18120..18239 at 02:31
    assert fields[:5] == [f"{DAY2}T02:31:00.000+0000", "50002.0", "50003.0", "50000.0", "50002.0"]
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
    assert trades[0][-5:-1] == [DAY2, "00:00", DAY2, "02:59"]


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
