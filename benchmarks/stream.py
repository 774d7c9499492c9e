"""The streaming service against a bare ccxt.pro loop that only receives, in one run.

The simulator runs in its own process with a fast clock (`--speed`), so its markets trade
`speed` times faster than real time. At each speed, for --seconds each:

- a bare loop: ccxt.pro `watch_trades_for_symbols` (aggTrade) and `watch_order_book_for_symbols`
  over every simulated market, counting what arrives, and the latency from each trade's
  exchange time to its receipt;
- the service (`StreamService`, every simulated market with `stream: true`, trades and a
  depth-20 book each), counting trades stored and book updates applied, the latency from each
  trade's exchange time to the end of the write that stored it, and its lag at the end (the
  exchange's newest trade minus the newest one stored).

Times on the simulator's clock are turned back into real ones (divided by the speed). The
service keeps up at a speed while its final lag stays within a flush or two.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import ccxt.pro
import numpy as np
import yaml
from common import free_port, start_simulator

from marketdata_pipeline.config import load_config
from marketdata_pipeline.simulator import ccxt_config
from marketdata_pipeline.simulator.symbols import make_specs
from marketdata_pipeline.storage.schema import TRADES
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.streaming import books_stream, trades_stream
from marketdata_pipeline.streaming.service import StreamService

TRADES_PER_MINUTE = 600  # raw trades; about 70% are aggTrades
# Two markets: the simulator computes each depth diff from 1000-level books, so more markets
# make the exchange, not the client, the bottleneck on two cores.
SYMBOLS = [s.symbol for s in make_specs(None, TRADES_PER_MINUTE).values()][:2]


class SimClock:
    """The simulator's clock seen from here: its time at start, running `speed` times faster."""

    def __init__(self, url: str, speed: float) -> None:
        import ccxt

        began = time.monotonic()
        self.t0 = ccxt.binance(ccxt_config(url)).fetch_time()
        self.m0 = (began + time.monotonic()) / 2
        self.speed = speed

    def __call__(self) -> float:
        return self.t0 + (time.monotonic() - self.m0) * 1000 * self.speed


async def bare(url: str, clock: SimClock, seconds: float) -> dict:
    exchange = ccxt.pro.binance(ccxt_config(url))
    latencies, books = [], 0

    async def trades():
        while True:
            got = await exchange.watch_trades_for_symbols(SYMBOLS, params={"name": "aggTrade"})
            now = clock()
            latencies.extend((now - t["timestamp"]) / clock.speed for t in got)

    async def depth():
        nonlocal books
        while True:
            await exchange.watch_order_book_for_symbols(SYMBOLS)
            books += 1

    tasks = [asyncio.create_task(trades()), asyncio.create_task(depth())]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await exchange.close()
    return {"trades": len(latencies), "books": books, "latency": latencies}


def service_run(url: str, clock: SimClock, seconds: float, folder: Path) -> dict:
    ccxt_options = ccxt_config(url)
    markets = [
        {
            "symbol": s,
            "timeframes": ["1m"],
            "start": "2026-01-01",
            "trades": True,
            "order_book": {"depth": 20, "every_seconds": 1},
            "stream": True,
        }
        for s in SYMBOLS
    ]
    path = folder / "marketdata.yaml"
    body = {"exchanges": [{"id": "binance", "ccxt": ccxt_options, "markets": markets}]}
    path.write_text(yaml.safe_dump(body))
    config = load_config(path)
    latencies, books = [], 0
    write, handle = trades_stream.TradeStream._write, books_stream.BookStream.handle

    def timed_write(self, rows, gaps):  # the real write, then when it ended
        write(self, rows, gaps)
        times = rows["timestamp"].dt.epoch("ms").to_numpy()
        latencies.extend(((clock() - times) / clock.speed).tolist())

    def counted_handle(self, book):
        nonlocal books
        books += 1
        handle(self, book)

    trades_stream.TradeStream._write = timed_write
    books_stream.BookStream.handle = counted_handle
    series = [s for s in config.all_series if s.data in ("trades", "order_book")]
    service = StreamService(config, series, store_for(config), lambda line: None)

    async def run():
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await service.run(stop)

    try:
        asyncio.run(run())
    finally:
        trades_stream.TradeStream._write = write
        books_stream.BookStream.handle = handle
    store = store_for(config)
    newest = max(
        store.summary(s, TRADES).last_ms or 0 for s in config.all_series if s.data == "trades"
    )
    return {
        "trades": sum(v for k, v in service.written.items() if k.endswith("/trades")),
        "books": books,
        "latency": latencies,
        "lag_s": (clock() - newest) / clock.speed / 1000,
    }


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q):7.0f}" if values else "      -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", default="20,80,320")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    print(f"{len(SYMBOLS)} markets, {TRADES_PER_MINUTE} trades/min each at speed 1")
    print(f"{args.seconds:g} s per run; latency in real ms, exchange event time to received/stored")
    header = "speed  side     trades/s  book updates/s  latency p50  p99  final lag s"
    print(header)
    for speed in [float(s) for s in args.speeds.split(",")]:
        port = free_port()
        server = start_simulator(port, 1_000_000, trades_per_minute=TRADES_PER_MINUTE, speed=speed)
        try:
            url = f"http://127.0.0.1:{port}"
            clock = SimClock(url, speed)
            b = asyncio.run(bare(url, clock, args.seconds))
            with tempfile.TemporaryDirectory() as folder:
                s = service_run(url, clock, args.seconds, Path(folder))
        finally:
            server.terminate()
            server.wait()
        for side, r in (("bare", b), ("service", s)):
            lag = f"{r['lag_s']:8.1f}" if "lag_s" in r else "       -"
            print(
                f"{speed:5g}  {side:7}  {r['trades'] / args.seconds:8.0f}"
                f"  {r['books'] / args.seconds:14.0f}"
                f"  {pct(r['latency'], 50)}  {pct(r['latency'], 99)}  {lag}"
            )
        if b["latency"] and s["latency"]:
            ratio = statistics.median(s["latency"]) / max(statistics.median(b["latency"]), 1)
            print(f"       service p50 latency / bare: {ratio:.1f}x")


if __name__ == "__main__":
    main()
