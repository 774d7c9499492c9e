"""A fast-clock simulator and a streamed project against it, with the exchange's own history
(plain ccxt over REST, no faults) to compare what the stream stored with."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import ccxt
import polars as pl
import pytest

from marketdata_pipeline.config import load_config
from marketdata_pipeline.exchange.quirks import RAW_TRADES
from marketdata_pipeline.exchange.trades import parse_raw_trades
from marketdata_pipeline.simulator import Simulator, ccxt_config
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.streaming.service import StreamService

from ..conftest import market, write_config

SPEED = 20  # simulated seconds per real second
DEPTH = 5


@pytest.fixture
def fast_sim() -> Iterator[Simulator]:
    with Simulator(speed=SPEED, trades_per_minute=120) as simulator:
        yield simulator


def streamed_market(**extra) -> dict:
    return market(
        trades=True,
        order_book={"depth": DEPTH, "every_seconds": 1},
        ticker=True,
        stream=True,
        **extra,
    )


@pytest.fixture
def stream_config(tmp_path, fast_sim, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))  # its observations
    path = write_config(tmp_path, fast_sim.url, [streamed_market()], ticker_every_seconds=1)
    return load_config(path)


async def stop_when(stop: asyncio.Event, wanted: dict[str, int], written: dict[str, int]):
    """Set `stop` once every series of `wanted` wrote that many rows (`written` by name): a
    test runs until it has what it checks, not for a time a loaded machine may not meet."""
    while not stop.is_set():
        if all(written.get(name, 0) >= rows for name, rows in wanted.items()):
            stop.set()
        await asyncio.sleep(0.1)


def run_service(
    config, seconds: float, during=None, until: dict[str, int] | None = None
) -> tuple[StreamService, list[str]]:
    """Stream every series of `config` for `seconds`, or with `until` ({data: rows}), until
    each of those series wrote that many rows (`seconds` then only bounds a loaded machine);
    `during` (a coroutine function) runs beside it."""
    lines: list[str] = []
    series = [s for s in config.all_series if config.streamed(s)]
    service = StreamService(config, series, store_for(config), lines.append)
    wanted = {s.name: until[s.data] for s in series if s.data in (until or {})}

    async def run():
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        done = stop_when(stop, wanted, service.written) if until else stop.wait()
        await asyncio.gather(service.run(stop), done, *([during()] if during else []))

    asyncio.run(run())
    return service, lines


def rest_trades(sim: Simulator, first_id: int, last_id: int) -> pl.DataFrame:
    """The exchange's aggTrades first_id..last_id by id, as the trades series stores them."""
    exchange = ccxt.binance(ccxt_config(sim.url))
    rows, cursor = [], first_id
    while cursor <= last_id:
        page = exchange.publicGetAggTrades({"symbol": "BTCUSDT", "fromId": cursor, "limit": 1000})
        rows += [r for r in page if int(r["a"]) <= last_id]
        cursor = int(page[-1]["a"]) + 1
    return parse_raw_trades(rows, RAW_TRADES["binance"])


def rest_candles(sim: Simulator, open_times: list[int]) -> pl.DataFrame:
    """The exchange's 1m klines at `open_times`, with quote volume and trade count."""
    exchange = ccxt.binance(ccxt_config(sim.url))
    rows = exchange.publicGetKlines(
        {"symbol": "BTCUSDT", "interval": "1m", "startTime": min(open_times), "limit": 1000}
    )
    wanted = set(open_times)
    return pl.DataFrame(
        [
            [int(r[0]), *map(float, r[1:6]), float(r[7]), int(r[8])]
            for r in rows
            if int(r[0]) in wanted
        ],
        schema=["open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades"],
        orient="row",
    )
