"""Start-up of the read-only commands against the imports they cannot avoid, in one run.

Writes a config and two days of hourly candles into a temporary LMDB store, then times whole
`marketdata` processes (best of --repeat): `--help`, `series`, `candles`, `sql` and `chart`.
Baselines, measured the same way: a Python process that only imports the libraries reading
needs (ArcticDB with pandas, polars, pydantic, PyYAML, click), and one that imports what the
read-only commands leave out (Dagster and ccxt).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from common import best_time

from marketdata_pipeline.config import load_config
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA
from marketdata_pipeline.storage.store import store_for

CONFIG = """\
exchanges:
  - id: binance
    markets:
      - {symbol: BTC/USDT, timeframes: [1h], start: 2024-01-01}
"""
START_MS = 1_704_067_200_000  # 2024-01-01
HOURS = 48
COMMANDS = {
    "--help": ["--help"],
    "series": ["series"],
    "candles (json)": ["candles", "binance", "BTC/USDT", "1h", "--format", "json"],
    "sql (count)": ["sql", "SELECT count(*) FROM candles"],
    "chart (png)": ["chart", "binance", "BTC/USDT", "1h", "--start", "2024-01-01", "-o", "c.png"],
}
FLOOR = "import arcticdb, polars, pydantic, yaml, click"
AVOIDED = "import dagster, ccxt"


def fill(folder: Path) -> None:
    (folder / "marketdata.yaml").write_text(CONFIG)
    config = load_config(folder / "marketdata.yaml")
    close = 40_000 + np.arange(HOURS, dtype=float)
    candles = pl.DataFrame(
        {
            "open_time": START_MS + np.arange(HOURS) * 3_600_000,
            **{c: close for c in ("open", "high", "low", "close", "quote_volume")},
            "volume": np.ones(HOURS),
            "trades": np.full(HOURS, 7),
        }
    ).cast(CANDLE_SCHEMA)
    store_for(config).write(config.series[0], candles, START_MS, START_MS + HOURS * 3_600_000)


def process(args: list[str], folder: Path) -> None:
    env = {**os.environ, "MARKETDATA_CONFIG": str(folder / "marketdata.yaml")}
    subprocess.run(args, cwd=folder, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        fill(folder)
        floor = best_time(lambda: process([sys.executable, "-c", FLOOR], folder), args.repeat)
        avoided = best_time(lambda: process([sys.executable, "-c", AVOIDED], folder), args.repeat)
        print(f"{'baseline: ' + FLOOR:<58} {floor * 1000:7.0f} ms")
        print(f"{'left out: ' + AVOIDED:<58} {avoided * 1000:7.0f} ms")
        for label, command in COMMANDS.items():
            run = [sys.executable, "-m", "marketdata_pipeline", *command]
            took = best_time(lambda run=run: process(run, folder), args.repeat)
            print(f"marketdata {label:<47} {took * 1000:7.0f} ms  {took / floor:5.2f}x baseline")


if __name__ == "__main__":
    main()
