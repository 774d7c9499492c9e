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
from common import candle_step_metadata, free_port, start_simulator

from marketdata_pipeline.simulator import ccxt_config


def project_sync(
    url: str, folder: Path, start: datetime, end: datetime
) -> tuple[float, int, float]:
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
    rows = library.get_description("binance/btc_usdt/1m").row_count
    step = candle_step_metadata(str(folder / "dagster_home"), ["binance", "btc_usdt", "candles_1m"])
    return seconds, rows, step["fetch_seconds"]


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
    server = start_simulator(port, 100_000_000)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"http://127.0.0.1:{port}"
            bare_s, bare_rows = bare_loop(url, Path(tmp), start, end)
            project_s, project_rows, step_s = project_sync(url, Path(tmp), start, end)
    finally:
        server.terminate()
    assert project_rows == bare_rows == args.days * 1440, (project_rows, bare_rows)
    rows = project_rows
    print(f"{args.days} days of 1m candles ({rows} rows) from the simulator")
    print(f"bare ccxt + ArcticDB loop:              {bare_s:6.2f} s {rows / bare_s:8.0f} candles/s")
    print(
        f"project, candle step (fetch + write):   {step_s:6.2f} s {rows / step_s:8.0f} candles/s"
        f"  ratio {bare_s / step_s:.2f}x"
    )
    print(
        f"project, whole `marketdata sync`:       {project_s:6.2f} s {rows / project_s:8.0f} candles/s"
        f"  ratio {bare_s / project_s:.2f}x"
    )
    print("(the whole sync adds process start, Dagster's per-partition events, checks, indicators)")


if __name__ == "__main__":
    main()
