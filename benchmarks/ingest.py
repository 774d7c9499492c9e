"""Ingestion throughput: `marketdata sync` against a bare ccxt + ArcticDB loop, in one run.

Backfills DAYS days of 1m candles of one symbol from the local simulator (started in its own
process, rate limiting off) twice: once through the project (`marketdata sync`: one Dagster
single-run backfill, delta planning, paging, locking, writes), once as the simplest possible
loop of ccxt `fetch_ohlcv` pages followed by a single ArcticDB write. Prints candles/s of both
and their ratio. The project's figure includes starting the CLI process (imports, Dagster run
bookkeeping), which is what a user waits for.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import arcticdb
import ccxt
import pandas as pd
import yaml

from marketdata_pipeline.simulator import ccxt_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marketdata_pipeline.simulator",
            "--port",
            str(port),
            "--weight-limit",
            "100000000",
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    raise RuntimeError("simulator did not start")


def project_sync(url: str, folder: Path, start: datetime, end: datetime) -> tuple[float, int]:
    config = folder / "marketdata.yaml"
    connector = {
        "id": "binance",
        "ccxt": ccxt_config(url),
        "rate_limit": {"weight": 100_000_000},
        "markets": [{"symbol": "BTC/USDT", "timeframes": ["1m"], "start": str(start.date())}],
    }
    config.write_text(yaml.safe_dump({"exchanges": [connector]}))
    env = {
        **os.environ,
        "MARKETDATA_CONFIG": str(config),
        "DAGSTER_HOME": str(folder / "dagster_home"),
    }
    began = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "marketdata_pipeline",
            "sync",
            "--start",
            str(start.date()),
            "--end",
            str(end.date()),
        ],
        env=env,
        cwd=folder,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - began
    library = arcticdb.Arctic(f"lmdb://{folder}/.data/arcticdb").get_library("candles")
    return seconds, library.get_description("binance/btc_usdt/1m").row_count


def bare_loop(url: str, folder: Path, start: datetime, end: datetime) -> tuple[float, int]:
    began = time.perf_counter()
    exchange = ccxt.binance(ccxt_config(url))
    exchange.load_markets()
    rows, cursor, stop = [], int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    while cursor < stop:
        page = exchange.fetch_ohlcv(
            "BTC/USDT", "1m", since=cursor, limit=1000, params={"until": stop - 1}
        )
        if not page:
            break
        rows += page
        cursor = page[-1][0] + 60_000
    frame = pd.DataFrame(rows, columns=["open_time", "open", "high", "low", "close", "volume"])
    frame["open_time"] = pd.to_datetime(frame["open_time"], unit="ms", utc=True)
    library = arcticdb.Arctic(f"lmdb://{folder}/bare").get_library(
        "candles", create_if_missing=True
    )
    library.write("btc_usdt_1m", frame.set_index("open_time"))
    return time.perf_counter() - began, len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    port = free_port()
    server = start_simulator(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"http://127.0.0.1:{port}"
            bare_s, bare_rows = bare_loop(url, Path(tmp), start, end)
            project_s, project_rows = project_sync(url, Path(tmp), start, end)
    finally:
        server.terminate()
    assert project_rows == bare_rows == args.days * 1440, (project_rows, bare_rows)
    project_rate, bare_rate = project_rows / project_s, bare_rows / bare_s
    print(f"{args.days} days of 1m candles ({project_rows} rows) from the simulator")
    print(f"project (marketdata sync): {project_s:7.2f} s  {project_rate:10.0f} candles/s")
    print(f"bare ccxt + ArcticDB loop: {bare_s:7.2f} s  {bare_rate:10.0f} candles/s")
    print(f"ratio project/bare throughput: {project_rate / bare_rate:.2f}x")


if __name__ == "__main__":
    main()
