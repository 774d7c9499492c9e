"""Trades: one day of a busy market, `marketdata sync --data trades` against a bare ccxt loop,
and candles built from that day's trades against a plain polars `group_by_dynamic`.

- fetch: a bare `fetch_trades(params={"fromId": ...})` loop + one ArcticDB write vs the
  project's sync, each in its own process (imports and start-up included), rate limit off;
- build: 1m trade candles from the stored day (trades/s) vs a plain `group_by_dynamic` of the
  same kline fields over the same frame, in this process.

The simulator runs in its own process at `--trades-per-minute` (default: ~1.5 million
aggTrades a day).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import yaml
from common import best_time, free_port, measure, start_simulator

from marketdata_pipeline.config import load_config
from marketdata_pipeline.simulator import ccxt_config
from marketdata_pipeline.storage.schema import TRADES
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.timeframes import TIMEFRAMES
from marketdata_pipeline.trades.candles import trade_candles

BARE_LOOP = """
import sys, arcticdb, ccxt, pandas as pd
from marketdata_pipeline.simulator import ccxt_config
url, folder, start, stop = sys.argv[1:]
start, stop = int(start), int(stop)
exchange = ccxt.binance(ccxt_config(url))
exchange.load_markets()
first = exchange.fetch_trades("BTC/USDT", since=start, limit=1)
rows, cursor = [], int(first[0]["id"])
while True:
    page = exchange.fetch_trades("BTC/USDT", limit=1000, params={"fromId": cursor})
    rows += [(t["timestamp"], int(t["id"]), t["price"], t["amount"], t["side"]) for t in page if t["timestamp"] < stop]
    if len(page) < 1000 or page[-1]["timestamp"] >= stop:
        break
    cursor = int(page[-1]["id"]) + 1
frame = pd.DataFrame(rows, columns=["timestamp", "id", "price", "amount", "side"])
frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True)
library = arcticdb.Arctic(f"lmdb://{folder}").get_library("trades", create_if_missing=True)
library.write("BTC/USDT", frame.set_index("timestamp"))
print(len(frame))
"""


def project_config(url: str, folder: Path, day: datetime) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    connector = {
        "id": "binance",
        "ccxt": ccxt_config(url),
        "rate_limit": {"weight": 100_000_000},
        "markets": [
            {"symbol": "BTC/USDT", "timeframes": ["1m"], "trades": True, "start": str(day.date())}
        ],
    }
    path = folder / "marketdata.yaml"
    path.write_text(yaml.safe_dump({"exchanges": [connector]}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades-per-minute", type=int, default=1500)
    args = parser.parse_args()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = end - timedelta(days=1)
    stamps = [str(int(t.timestamp() * 1000)) for t in (day, end)]
    port = free_port()
    server = start_simulator(port, 100_000_000, trades_per_minute=args.trades_per_minute)
    url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            base = measure([sys.executable, "-c", BARE_LOOP, url, str(root / "bare"), *stamps])
            path = project_config(url, root / "project", day)
            env = {**os.environ, "MARKETDATA_CONFIG": str(path)}
            env["DAGSTER_HOME"] = str(root / "project" / "dagster_home")
            command = [sys.executable, "-m", "marketdata_pipeline", "sync", "--data", "trades"]
            synced = measure(
                [*command, "--start", str(day.date()), "--end", str(end.date())], env=env
            )
            config = load_config(path)
            trades = store_for(config).read(config.trade_series[0], None, None, TRADES)
    finally:
        server.terminate()
    tf = TIMEFRAMES["1m"]
    start_ms, end_ms = (int(t) for t in stamps)
    ours = best_time(lambda: trade_candles(trades, tf, start_ms, end_ms), 5)
    buy = pl.col("side") == "buy"
    plain = best_time(
        lambda: (
            trades.sort("timestamp")
            .group_by_dynamic("timestamp", every="1m")
            .agg(
                pl.col("price").first().alias("open"),
                pl.col("price").max().alias("high"),
                pl.col("price").min().alias("low"),
                pl.col("price").last().alias("close"),
                pl.col("amount").sum().alias("volume"),
                pl.col("cost").sum().alias("quote_volume"),
                (pl.col("last_trade_id") - pl.col("first_trade_id") + 1).sum().alias("trades"),
                pl.col("amount").filter(buy).sum().alias("taker_buy_volume"),
                pl.col("cost").filter(buy).sum().alias("taker_buy_quote_volume"),
            )
        ),
        5,
    )
    n = trades.height
    print(f"one day of BTC/USDT trades from the simulator: {n:,} aggTrades, rate limit off")
    print(f"  bare ccxt fromId loop + one ArcticDB write  {base}")
    print(f"  marketdata sync --data trades              {synced}   {synced.ratio(base)}")
    print("1m candles from that day of trades")
    print(f"  plain polars group_by_dynamic             {n / plain / 1e6:6.1f} M trades/s")
    print(
        f"  trade_candles (with empty buckets)         {n / ours / 1e6:6.1f} M trades/s"
        f"   {ours / plain:.2f}x the time"
    )


if __name__ == "__main__":
    main()
