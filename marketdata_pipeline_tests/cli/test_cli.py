"""The `marketdata` commands, run in-process with click's runner and end-to-end in a subprocess."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta

import polars as pl
import pytest
from click.testing import CliRunner

from marketdata_pipeline.cli.main import main
from marketdata_pipeline.coordination import coordination_for

from ..conftest import day_key, free_port, market, marketdata, today


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def synced(make_project):
    project = make_project([market(timeframes=["1m", "1h"]), market("ETH/USDT", ["1h"])])
    result = invoke(
        "sync",
        "--symbol",
        "btc/usdt",
        "--timeframe",
        "1m",
        "--start",
        day_key(2),
        "--end",
        day_key(1),
    )
    assert result.exit_code == 0, result.output
    return project


def test_sync_then_series_and_candles_in_every_format(synced, tmp_path):
    table = invoke("series").output.splitlines()
    assert table[0].split() == [
        *("exchange", "symbol", "timeframe", "data", "start", "first", "last", "rows")
    ]
    assert table[1].split()[:3] == ["binance", "BTC/USDT", "1m"] and table[1].split()[-1] == "1440"
    assert table[2].split()[-3:] == ["-", "-", "0"]

    csv = invoke(
        "candles",
        "binance",
        "BTC/USDT",
        "1m",
        "--start",
        f"{day_key(2)}T10:00",
        "--end",
        f"{day_key(2)}T10:05",
    )
    lines = csv.output.splitlines()
    assert lines[0] == "open_time,open,high,low,close,volume,quote_volume,trades"
    assert len(lines) == 6 and lines[1].startswith(f"{day_key(2)}T10:00:00.000")

    rows = json.loads(
        invoke(
            "candles",
            "binance",
            "btc/usdt",
            "1m",
            "--format",
            "json",
            "--start",
            day_key(2),
            "--end",
            f"{day_key(2)}T00:03",
        ).output
    )
    assert [set(r) for r in rows] == [
        {"open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades"}
    ] * 3

    joined = invoke(
        "candles",
        "binance",
        "BTC/USDT",
        "1m",
        "--indicators",
        "--format",
        "json",
        "--start",
        day_key(2),
    )
    last = json.loads(joined.output)[-1]
    assert 0 <= last["rsi14"] <= 100 and {"ema12", "macd_hist", "close"} <= set(last)

    out = tmp_path / "c.parquet"
    assert (
        invoke(
            "candles", "binance", "BTC/USDT", "1m", "--format", "parquet", "--output", str(out)
        ).exit_code
        == 0
    )
    assert pl.read_parquet(out).height == 1440


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["candles", "binance", "BTC/USDT", "1m", "--start", "2024-02-30"],
            "error: --start: invalid date '2024-02-30'; use YYYY-MM-DD",
        ),
        (
            ["candles", "binance", "BTC/USDT", "2h"],
            "error: unknown timeframe '2h'; allowed: 1m, 5m",
        ),
        (
            ["candles", "kraken", "BTC/USDT", "1m"],
            "error: no configured series matches exchange=kraken",
        ),
        (
            ["candles", "binance", "BTC/USDT", "1m", "--format", "parquet"],
            "error: --format parquet needs --output FILE",
        ),
        (["sync", "--end", day_key(1)], "error: --start is required"),
        (
            ["sync", "--start", "2020-01-01", "--end", "2020-02-01"],
            "error: nothing to sync: binance BTC/USDT 1m starts {start}",
        ),
        (
            ["sync", "--start", "2999-01-01", "--end", "2999-02-01"],
            "error: nothing to sync: --start 2999-01-01 00:00 is in the future",
        ),
        (
            ["sync", "--start", day_key(1), "--end", day_key(2)],
            f"error: --start {day_key(1)} is not before --end {day_key(2)}",
        ),
    ],
)
def test_user_mistakes_get_one_line_and_exit_2(make_project, args, message):
    make_project()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    message = message.format(start=today() - timedelta(days=45))  # the default market's start
    assert result.output.startswith(message) and result.output.count("\n") == 1


def test_missing_config_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MARKETDATA_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["series"])
    assert result.exit_code == 2
    assert (
        result.output
        == f"error: config file {tmp_path}/marketdata.yaml not found; create it or set MARKETDATA_CONFIG to its path\n"
    )


def test_a_symbol_the_exchange_does_not_list_is_one_line_and_exit_2(make_project, tmp_path):
    make_project([market("NOPE/USDT")])
    run = marketdata("sync", "--start", day_key(1), cwd=tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        "error: marketdata.yaml: binance does not list symbol 'NOPE/USDT'; fix markets[].symbol"
        " in the config (ccxt unified form, e.g. BTC/USDT)\n"
    )


def test_a_series_the_range_misses_is_named_and_the_others_synced(make_project):
    make_project([market(), market("ETH/USDT", start=today())])
    result = CliRunner().invoke(main, ["sync", "--start", day_key(2), "--end", day_key(1)])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"note: skipped binance ETH/USDT 1m starts {today()}, after --end {day_key(1)} 00:00\n"
    )
    rows = [line.split() for line in invoke("series").output.splitlines()[1:]]
    assert [(r[1], r[-1]) for r in rows] == [("BTC/USDT", "1440"), ("ETH/USDT", "0")]


def test_a_failing_run_prints_no_dagster_logs_on_the_terminal(make_project, capfd):
    project = make_project([market("NOPE/USDT")])
    result = project.materialize(project.series("NOPE/USDT"), day_key(1), raise_on_error=False)
    assert not result.success
    assert capfd.readouterr() == ("", "")  # the events are in the instance, not on the screen
    assert project.instance.get_run_by_id(result.run_id).status.value == "FAILURE"


def test_sync_end_to_end_in_a_subprocess(make_project, tmp_path):
    make_project()
    run = marketdata("sync", "--start", day_key(2), "--end", day_key(1), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    listed = marketdata("candles", "binance", "BTC/USDT", "1m", "--format", "json", cwd=tmp_path)
    assert len(json.loads(listed.stdout)) == 1440


def test_simulate_serves_binance_and_prints_the_connector(tmp_path):
    port = free_port()
    args = ("simulate", "--port", str(port), "--trades-per-minute", "100", "--speed", "600")
    server = marketdata(*args, cwd=tmp_path, wait=False)
    try:
        first = server.stdout.readline()
        assert f"http://127.0.0.1:{port}" in first
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/ping", timeout=10) as answer:
            assert json.load(answer) == {}
        days = f"http://127.0.0.1:{port}/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=2"
        with urllib.request.urlopen(days, timeout=10) as answer:
            yesterday = json.load(answer)[0]
        assert 0.95 < yesterday[8] / (100 * 1_440) < 1.05  # trades in a whole day
        times = []
        for _ in range(2):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/time") as answer:
                times.append(json.load(answer)["serverTime"])
            time.sleep(0.2)
        assert times[1] - times[0] >= 600 * 200  # --speed 600: at least 2 simulated minutes
    finally:
        server.terminate()
        server.wait(10)
    result = CliRunner().invoke(main, ["simulate", "--trades-per-minute", "5"])
    assert result.exit_code == 2 and "'--trades-per-minute': 5 is not in the range" in result.output
    result = CliRunner().invoke(main, ["simulate", "--speed", "0"])
    assert result.exit_code == 2 and "'--speed': 0.0 is not in the range x>0" in result.output


def test_simulate_speaks_okx_when_asked(tmp_path):
    port = free_port()
    server = marketdata(
        "simulate", "--exchange", "okx", "--port", str(port), cwd=tmp_path, wait=False
    )
    try:
        assert server.stdout.readline().startswith(f"okx simulator on http://127.0.0.1:{port}")
        snippet = "".join(server.stdout.readline() for _ in range(8))
        assert "- id: okx" in snippet and f"rest: http://127.0.0.1:{port}" in snippet
        bars = f"http://127.0.0.1:{port}/api/v5/market/candles?instId=BTC-USDT&bar=1Dutc&limit=2"
        with urllib.request.urlopen(bars, timeout=10) as answer:
            page = json.load(answer)
        assert page["code"] == "0" and [row[-1] for row in page["data"]] == ["0", "1"]
    finally:
        server.terminate()
        server.wait(10)
    result = CliRunner().invoke(main, ["simulate", "--exchange", "kraken"])
    assert result.exit_code == 2 and "'kraken' is not one of 'binance', 'okx'" in result.output


def test_status_shows_connectors_and_series_and_fails_when_stale(synced):
    time.sleep(2.1)  # the sync's requests leave the budget's 2-second window
    coordination_for(synced.config).budget("binance", 200, 2).try_take(7)
    result = CliRunner().invoke(main, ["status"])
    connectors, series = result.stdout.split("\n\n")
    header, row = connectors.splitlines()
    assert header.split() == [
        "exchange",
        "budget",
        "source",
        "used",
        "paused_s",
        "pool",
        "waiting_steps",
    ]
    assert row.split() == ["binance", "200/2s", "ccxt", "7", "0.0", "0/4", "0"]
    lines = series.splitlines()
    assert lines[0].split() == [
        "series",
        "last",
        "lag",
        "state",
        "why",
        "in_progress",
        "last_run",
        "next_run",
        "last_error",
    ]
    assert lines[1].startswith("binance/btc_usdt/1m") and f"{day_key(2)} 23:59" in lines[1]
    assert " stale  no run since " in lines[1] and " success " in lines[1]
    assert " stale  never run " in lines[3]
    assert result.exit_code == 1
    assert "stale: binance/btc_usdt/1m, binance/btc_usdt/1h, binance/eth_usdt/1h" in result.stderr


def test_status_is_zero_when_every_series_is_fresh_and_shows_the_last_error(make_project):
    project = make_project()
    project.materialize(project.series(), str(today()))
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    assert "fresh" in result.stdout.splitlines()[-1]
    broken = make_project([market("NOPE/USDT")])
    broken.materialize(broken.series("NOPE/USDT"), day_key(1), raise_on_error=False)
    row = CliRunner().invoke(main, ["status"]).stdout.splitlines()[-1]
    assert "failure" in row and "does not list symbol 'NOPE/USDT'" in row


def test_status_shows_each_stream_of_a_streamed_market(make_project):
    make_project([market(trades=True, stream=True)])
    result = CliRunner().invoke(main, ["status"])
    streams = result.stdout.split("\n\n")[2].splitlines()
    assert streams[0].split() == [
        "stream",
        "connected",
        "last_message",
        "lag_ms",
        "reconnects",
        "resyncs",
        "gaps_repaired",
        "rows_written",
    ]
    assert [line.split()[:2] for line in streams[1:]] == [
        ["binance/btc_usdt/1m", "never"],
        ["binance/btc_usdt/trades", "never"],
    ]


def test_streamed_trades_of_an_exchange_without_trades_by_id_are_one_line(make_project):
    """Without paging by id a lost second of trades could not be repaired: refused, saying what
    to do instead."""
    make_project([market(trades=True, stream=True)], id="okx")
    result = CliRunner().invoke(main, ["stream", "--for", "1"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: okx BTC/USDT: streamed trades are repaired by id after a disconnect, which"
        " marketdata can do on binance, binanceus only; set `trades: false` on this market to"
        " stream its books, tickers and candles, and let `marketdata sync --data trades` collect"
        " its trades"
    )
