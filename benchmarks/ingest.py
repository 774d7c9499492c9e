"""Ingestion: `marketdata sync` against a bare ccxt + ArcticDB loop, measured in one run.

Every figure runs in a subprocess of its own, so wall time, CPU time (user + system) and peak
RSS are the process's own, import and start-up included: what a user waits for.

- cold year: a year of 1m candles of one symbol into an empty store, project vs bare loop;
- no-op: the same sync again (nothing to fetch) vs the start-up of `marketdata --help`;
- many series: N symbols x 1 month of 1m in one sync vs a bare loop over the same series;
- memory: peak RSS of a 3-year 1m sync of one symbol (and of the 1-year one);
- freqtrade (optional, `--freqtrade PATH/TO/freqtrade`): `download-data` of the same year.

The simulator runs in its own process with rate limiting off.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from common import Measure, free_port, measure, start_simulator

from marketdata_pipeline.simulator import ccxt_config

BARE_LOOP = """
import sys, arcticdb, ccxt, pandas as pd
from marketdata_pipeline.simulator import ccxt_config
url, folder, start, stop, *symbols = sys.argv[1:]
exchange = ccxt.binance(ccxt_config(url))
exchange.load_markets()
library = arcticdb.Arctic(f"lmdb://{folder}").get_library("candles", create_if_missing=True)
for symbol in symbols:
    rows, cursor = [], int(start)
    while cursor < int(stop):
        page = exchange.fetch_ohlcv(symbol, "1m", since=cursor, limit=1000, params={"until": int(stop) - 1})
        if not page:
            break
        rows += page
        cursor = page[-1][0] + 60_000
    frame = pd.DataFrame(rows, columns=["open_time", "open", "high", "low", "close", "volume"])
    frame["open_time"] = pd.to_datetime(frame["open_time"], unit="ms", utc=True)
    library.write(symbol, frame.set_index("open_time"))
"""


def project(url: str, folder: Path, symbols: list[str], start: datetime, end: datetime):
    folder.mkdir(parents=True, exist_ok=True)
    connector = {
        "id": "binance",
        "ccxt": ccxt_config(url),
        "rate_limit": {"weight": 100_000_000},
        "markets": [
            {"symbol": s, "timeframes": ["1m"], "start": str(start.date())} for s in symbols
        ],
    }
    (folder / "marketdata.yaml").write_text(yaml.safe_dump({"exchanges": [connector]}))
    env = {**os.environ, "MARKETDATA_CONFIG": str(folder / "marketdata.yaml")}
    env["DAGSTER_HOME"] = str(folder / "dagster_home")
    command = [sys.executable, "-m", "marketdata_pipeline", "sync"]
    command += ["--start", str(start.date()), "--end", str(end.date())]
    return lambda: measure(command, env=env, cwd=folder)


def bare(url: str, folder: Path, symbols: list[str], start: datetime, end: datetime) -> Measure:
    stamps = [str(int(t.timestamp() * 1000)) for t in (start, end)]
    return measure([sys.executable, "-c", BARE_LOOP, url, str(folder), *stamps, *symbols])


def freqtrade(binary: str, url: str, folder: Path, start: datetime, end: datetime) -> Measure:
    """freqtrade's `download-data` of the same candles (its own virtualenv)."""
    ccxt = ccxt_config(url)
    config = {
        "exchange": {
            "name": "binance",
            "only_from_ccxt": True,
            "ccxt_config": ccxt,
            "ccxt_async_config": ccxt,
            "pair_whitelist": ["BTC/USDT"],
        },
        "stake_currency": "USDT",
        "dataformat_ohlcv": "feather",
        "datadir": str(folder / "data"),
        "user_data_dir": str(folder),
    }
    path = folder / "config.json"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    timerange = f"{start:%Y%m%d}-{end:%Y%m%d}"
    return measure(
        [binary, "download-data", "-c", str(path), "-t", "1m", "--timerange", timerange],
        cwd=folder,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--series", type=int, default=16)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--freqtrade", help="path of a freqtrade executable (own virtualenv)")
    args = parser.parse_args()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    year = end - timedelta(days=args.days)
    month = end - timedelta(days=30)
    symbols = [f"C{i:02d}/USDT" for i in range(args.series)]
    port = free_port()
    server = start_simulator(port, 100_000_000, symbols=symbols)
    url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            help_ = measure([sys.executable, "-m", "marketdata_pipeline", "--help"])
            base = bare(url, root / "bare", ["BTC/USDT"], year, end)
            cold = project(url, root / "year", ["BTC/USDT"], year, end)
            cold_run = cold()
            noop = cold()
            many_base = bare(url, root / "bare_many", symbols, month, end)
            many = project(url, root / "many", symbols, month, end)()
            long = project(
                url, root / "long", ["BTC/USDT"], end - timedelta(days=365 * args.years), end
            )()
            peer = (
                freqtrade(args.freqtrade, url, root / "ft", year, end) if args.freqtrade else None
            )
    finally:
        server.terminate()
    print(f"{args.days} days of 1m candles (BTC/USDT) from the simulator, rate limit off")
    print(f"  bare ccxt loop + one ArcticDB write  {base}")
    print(f"  marketdata sync, cold store          {cold_run}   {cold_run.ratio(base)}")
    if peer:
        print(
            f"  freqtrade download-data              {peer}   freqtrade/project wall {peer.wall / cold_run.wall:.2f}"
        )
    print("no-op (the same sync again)")
    print(f"  marketdata --help                    {help_}")
    print(
        f"  marketdata sync, nothing to fetch    {noop}   wall {noop.wall / help_.wall:.2f}x --help"
    )
    print(f"{args.series} series x 30 days of 1m in one sync")
    print(f"  bare ccxt loop over the series       {many_base}")
    print(f"  marketdata sync                      {many}   {many.ratio(many_base)}")
    print(
        f"memory: {args.years} years of 1m in one sync: peak RSS {long.rss_mb:.0f} MB (1 year: {cold_run.rss_mb:.0f} MB)"
    )


if __name__ == "__main__":
    main()
