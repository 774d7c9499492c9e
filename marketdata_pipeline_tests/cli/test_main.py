"""Commands that only read stored data start without importing Dagster or ccxt.

Those two cost about 2 s of start-up together. The real command runs in a subprocess with
`-X importtime`, whose report lists every module the process imported.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from marketdata_pipeline.books.layout import snapshot_rows
from marketdata_pipeline.cli.main import main
from marketdata_pipeline.config import load_config
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA, ORDER_BOOKS, TICKERS, TRADES
from marketdata_pipeline.storage.store import store_for

from ..access.test_books import btc_book, stored_order
from ..conftest import fake_trades, market

CONFIG = """\
exchanges:
  - id: binance
    markets:
      - {symbol: BTC/USDT, timeframes: [1h], start: 2024-01-01, schedule: "*/5 * * * *", trades: true,
         order_book: {depth: 2, every_seconds: 10}, ticker: true}
"""
HOURS = 48
START_MS = 1_704_067_200_000  # 2024-01-01


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A config, two days of hourly candles, 10 trades and 3 book snapshots and tickers, written
    straight through the store."""
    folder = tmp_path_factory.mktemp("read_only")
    (folder / "marketdata.yaml").write_text(CONFIG)
    config = load_config(folder / "marketdata.yaml")
    close = 40_000 + np.arange(HOURS, dtype=float)
    candles = pl.DataFrame(
        {
            "open_time": START_MS + np.arange(HOURS) * 3_600_000,
            "open": close - 5,
            "high": close + 10,
            "low": close - 10,
            "close": close,
            "volume": np.ones(HOURS),
            "quote_volume": close,
            "trades": np.full(HOURS, 7),
        }
    ).cast(CANDLE_SCHEMA)
    store_for(config).write(config.series[0], candles, START_MS, START_MS + HOURS * 3_600_000)
    trades = fake_trades(START_MS, 10)
    store_for(config).write(config.trade_series[0], trades, START_MS, START_MS + 5000, TRADES)
    book, ticker = config.polled_series
    times = [START_MS + 10_000 * k for k in range(3)]
    snapshots = stored_order(snapshot_rows([btc_book(k) for k in range(3)], 2, times))
    store_for(config).write(book, snapshots, START_MS, START_MS + 30_000, ORDER_BOOKS)
    tickers = snapshots.select("local_timestamp", "timestamp", bid="bid_price_0")
    store_for(config).write(ticker, tickers, START_MS, START_MS + 30_000, TICKERS)
    return folder


def imports_of(project: Path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `marketdata ARGS`; returns the run and the top-level packages it imported."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "marketdata_pipeline", *args],
        cwd=project,
        env={
            **os.environ,
            "MARKETDATA_CONFIG": str(project / "marketdata.yaml"),
            "DAGSTER_HOME": str(project / "dagster_home"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in run.stderr.splitlines() if line.startswith("import time:")]
    packages = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines[1:]}
    return run, packages


@pytest.mark.parametrize(
    ("args", "check"),
    [
        (["--help"], lambda out: "candles" in out and "sql" in out),
        (["series"], lambda out: out.splitlines()[1].split()[-1] == str(HOURS)),
        (
            ["connectors"],
            lambda out: out.splitlines()[1].split()[:3] == ["binance", "enabled", "200/2s"],
        ),
        (
            ["markets"],
            lambda out: out.splitlines()[1].split()[:3] == ["binance", "BTC/USDT", "enabled"],
        ),
        (
            ["candles", "binance", "BTC/USDT", "1h", "--format", "json", "--end", "2024-01-02"],
            lambda out: len(json.loads(out)) == 24,
        ),
        (
            ["trades", "binance", "BTC/USDT", "--format", "json", "--end", "2024-01-01T00:00:02"],
            lambda out: [t["id"] for t in json.loads(out)] == [1000, 1001, 1002, 1003],
        ),
        (["sql", "SELECT count(*) AS n FROM candles"], lambda out: out.split() == ["n", "48"]),
        (["sql", "SELECT count(*) AS n FROM trades"], lambda out: out.split() == ["n", "10"]),
        (
            ["books", "binance", "BTC/USDT", "--depth", "1", "--metrics", "--format", "json"],
            lambda out: [b["bid_price_0"] for b in json.loads(out)] == [99.5, 100.5, 101.5],
        ),
        (
            ["tickers", "binance", "BTC/USDT", "--format", "json"],
            lambda out: [t["bid"] for t in json.loads(out)] == [99.5, 100.5, 101.5],
        ),
        (
            ["chart", "binance", "BTC/USDT", "1h", "--start", "2024-01-01", "-o", "c.png"],
            lambda out: out == f"wrote c.png ({HOURS} candles)\n",
        ),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else "",
)
def test_read_only_commands_import_neither_dagster_nor_ccxt(project, args, check):
    run, packages = imports_of(project, *args)
    assert run.returncode == 0 and check(run.stdout), run.stdout + run.stderr[-2000:]
    assert {"click", "marketdata_pipeline"} <= packages  # the report is complete
    assert not packages & {"dagster", "ccxt"}


def test_serve_imports_neither_dagster_nor_ccxt(project):
    with socket.create_server(("127.0.0.1", 0)) as taken:  # serve stops after its imports
        port = taken.getsockname()[1]
        run, packages = imports_of(project, "serve", "--port", str(port))
    assert run.returncode == 2 and f"error: port {port} is in use" in run.stderr
    assert {"fastapi", "uvicorn", "fastapi_offline"} <= packages
    assert not packages & {"dagster", "ccxt"}


def test_the_probe_sees_dagster_where_a_command_uses_it(project):
    (project / "dagster_home").mkdir(exist_ok=True)
    run, packages = imports_of(project, "status")  # reads the Dagster instance
    assert run.returncode == 1 and "stale: binance/btc_usdt/1h" in run.stderr
    assert "dagster" in packages


@pytest.mark.parametrize("command", [["sync", "--start", "2024-01-01"], ["status"]])
def test_commands_running_schedules_check_their_crons_with_dagster(make_project, command):
    project = make_project([{**market(), "schedule": "61 * * * *"}])
    assert CliRunner().invoke(main, ["series"]).exit_code == 0  # reading needs no cron
    result = CliRunner().invoke(main, command)
    assert (result.exit_code, result.output) == (
        2,
        f"error: {project.config.path}: exchanges[binance].markets[BTC/USDT].schedule:"
        " schedule '61 * * * *' is not a cron expression such as '*/5 * * * *'\n",
    )
