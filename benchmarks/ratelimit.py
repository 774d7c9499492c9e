"""How much of an exchange's request budget a backfill actually uses, with 100 ms per request.

The simulator (own process) answers every request after LATENCY_MS and allows BUDGET weight a
minute. A `marketdata sync` backfill long enough to span several budget windows fetches pages
asynchronously under the shared budget. Printed, as fractions of the budget:
- its average request rate while fetching (a rolling window starts empty, so the first minute
  may burst: long runs tend to 1.0 from above); aim >= 0.9;
- the largest weight the simulator saw in any rolling 60 s: 1.0 means the budget was used to
  the full and never passed;
- a plain sequential ccxt loop, measured in the same run, bound by the latency instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import ccxt
import yaml
from common import candle_step_metadata, free_port, start_simulator

from marketdata_pipeline.simulator import ccxt_config

KLINES_WEIGHT = 2


def sequential_rate(url: str, seconds: float) -> float:
    """Requests per minute of a one-request-at-a-time ccxt loop."""
    exchange = ccxt.binance(ccxt_config(url))
    exchange.load_markets()
    cursor, count, began = 1_600_000_000_000, 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        page = exchange.fetch_ohlcv("BTC/USDT", "1m", since=cursor, limit=1000)
        cursor = page[-1][0] + 60_000
        count += 1
    return count / (time.perf_counter() - began) * 60


def project_rate(url: str, budget: int, years: int) -> tuple[float, int, float, float]:
    """Klines requests per minute of `marketdata sync` over `years` of 1m candles, while it
    fetched (the step's `fetch_seconds`), plus the run's end-to-end seconds (which include
    Dagster's per-partition bookkeeping)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "marketdata.yaml"
        start, end = "2018-01-01", f"{2018 + years}-01-01"
        connector = {
            "id": "binance",
            "ccxt": ccxt_config(url),
            "rate_limit": {"weight": budget, "period_seconds": 60},
            "markets": [{"symbol": "BTC/USDT", "timeframes": ["1m"], "start": start}],
        }
        config.write_text(yaml.safe_dump({"exchanges": [connector]}))
        env = {**os.environ, "MARKETDATA_CONFIG": str(config), "DAGSTER_HOME": str(folder / "dh")}
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "marketdata_pipeline", "sync", "--start", start, "--end", end],
            env=env,
            cwd=folder,
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - began
        metadata = candle_step_metadata(str(folder / "dh"), ["binance", "btc_usdt", "candles_1m"])
    requests, fetching = metadata["requests"], metadata["fetch_seconds"]
    return requests / fetching * 60, requests, fetching, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=1200, help="weight per minute")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--years", type=int, default=4, help="1m candles to backfill")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_simulator(port, args.budget, args.latency_ms)
    try:
        sequential = sequential_rate(url, 20)
        time.sleep(61)  # let the simulator's windows forget the sequential loop
        requests_get(f"{url}/sim/reset", method="POST")
        _, requests, fetching, seconds = project_rate(url, args.budget, args.years)
        peak = json.loads(requests_get(f"{url}/sim/stats"))["max_weight_in_any_rolling_60s"]
    finally:
        server.terminate()
    per_window = args.budget / KLINES_WEIGHT
    rate = requests / fetching * 60
    print(
        f"budget {args.budget} weight/min = {per_window:.0f} requests/min, latency {args.latency_ms} ms"
    )
    print(
        f"project, marketdata sync: {requests} requests in {fetching:.0f} s of fetching "
        f"(whole run {seconds:.0f} s): {rate:.0f} req/min = {rate / per_window:.2f} of budget"
    )
    print(f"busiest rolling 60 s / budget: {peak / args.budget:.2f}")
    print(
        f"sequential ccxt loop: {sequential:.0f} req/min = {sequential / per_window:.2f} of budget"
    )


def requests_get(url: str, method: str = "GET") -> str:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as answer:
        return answer.read().decode()


if __name__ == "__main__":
    main()
