"""Unmodified ccxt.pro binance against the streams: what it watches equals REST, and it sees
every fault the way it would see Binance's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt
import ccxt.pro
import pytest

from marketdata_pipeline.simulator import Faults, Simulator, ccxt_config
from marketdata_pipeline.simulator.book import book_at
from marketdata_pipeline.simulator.ticker import ticker
from marketdata_pipeline.simulator.ws.feeds import DIFF_DEPTH

from .conftest import settled_ws_stats


def _watch(sim: Simulator, body: Callable[[ccxt.pro.binance], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        exchange = ccxt.pro.binance(ccxt_config(sim.url))
        try:
            await exchange.load_markets()
            return await body(exchange)
        finally:
            await exchange.close()

    return asyncio.run(main())


def _rest(sim: Simulator) -> ccxt.binance:
    return ccxt.binance({**ccxt_config(sim.url), "enableRateLimit": False})


def test_watched_trades_are_contiguous_and_equal_rest_trades(fast_sim: Simulator) -> None:
    async def body(exchange: ccxt.pro.binance) -> list[dict]:
        trades: list[dict] = []
        while len(trades) < 200:
            trades += await exchange.watch_trades("BTC/USDT", params={"name": "aggTrade"})
        return trades

    watched = _watch(fast_sim, body)
    ids = [int(t["id"]) for t in watched]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    rest = _rest(fast_sim).fetch_trades("BTC/USDT", params={"fromId": ids[0], "limit": len(ids)})
    fields = ("id", "timestamp", "price", "amount", "side", "takerOrMaker")
    assert [{k: t[k] for k in fields} for t in watched] == [{k: t[k] for k in fields} for t in rest]


def test_watched_order_books_equal_book_at_their_nonce(fast_sim: Simulator) -> None:
    spec = fast_sim._state.specs["BTCUSDT"]

    async def body(exchange: ccxt.pro.binance) -> list[dict]:
        books = []  # copies: ccxt.pro updates one book in place
        for _ in range(10):
            book = await exchange.watch_order_book("BTC/USDT")
            copy = {side: [list(level) for level in book[side]] for side in ("bids", "asks")}
            books.append({"nonce": book["nonce"], **copy})
        return books

    books = _watch(fast_sim, body)
    assert len({book["nonce"] for book in books}) >= 5
    for book in books:
        expected = book_at(spec, book["nonce"], DIFF_DEPTH, now_ms=fast_sim.now_ms()).to_ccxt(spec)
        assert (book["bids"], book["asks"]) == (expected["bids"], expected["asks"])


def test_watched_candles_equal_rest_candles_once_the_next_one_starts() -> None:
    with Simulator(speed=120) as sim:

        async def body(exchange: ccxt.pro.binance) -> list[list[float]]:
            first = (await exchange.watch_ohlcv("ETH/USDT", "1m"))[-1][0]
            while True:
                candles = await exchange.watch_ohlcv("ETH/USDT", "1m")
                stored = exchange.ohlcvs["ETH/USDT"]["1m"]
                if stored[-1][0] >= first + 120_000:
                    return [c for c in stored if first <= c[0] < stored[-1][0]]
                assert candles

        closed = _watch(sim, body)
        rest = _rest(sim).fetch_ohlcv("ETH/USDT", "1m", since=closed[0][0], limit=len(closed))
        assert len(closed) >= 2 and closed == rest


def test_watched_tickers_equal_the_rest_ticker_at_their_time(fast_sim: Simulator) -> None:
    async def body(exchange: ccxt.pro.binance) -> tuple[dict, dict]:
        return await exchange.watch_ticker("ETH/USDT"), await exchange.watch_tickers()

    one, every = _watch(fast_sim, body)
    spec = fast_sim._state.specs["ETHUSDT"]
    rest = ticker(spec, one["timestamp"])
    assert (one["last"], one["high"], one["baseVolume"]) == (
        float(rest["lastPrice"]), float(rest["highPrice"]), float(rest["volume"])
    )  # fmt: skip
    assert set(every) <= set(fast_sim.symbols) and every


def test_a_skipped_depth_update_makes_the_next_watch_raise_then_it_resyncs(
    fast_sim: Simulator,
) -> None:
    spec = fast_sim._state.specs["BTCUSDT"]

    async def body(exchange: ccxt.pro.binance) -> dict:
        for _ in range(3):
            await exchange.watch_order_book("BTC/USDT")
        await asyncio.get_running_loop().run_in_executor(None, fast_sim.ws_skip_depth)
        with pytest.raises(ccxt.ChecksumError):
            for _ in range(50):
                await exchange.watch_order_book("BTC/USDT")
        await exchange.watch_order_book("BTC/USDT")  # a new snapshot
        return await exchange.watch_order_book("BTC/USDT")

    book = _watch(fast_sim, body)
    expected = book_at(spec, book["nonce"], DIFF_DEPTH, now_ms=fast_sim.now_ms()).to_ccxt(spec)
    assert book["bids"] == expected["bids"]
    assert settled_ws_stats(fast_sim)["depth_skipped"] == 1
    assert fast_sim.stats()["depth_requests"] == 2


FAULTS: dict[str, Callable[[Simulator], None]] = {
    "drop": Simulator.ws_drop,
    "shutdown": Simulator.ws_shutdown,
    "max_age": lambda sim: sim.set_faults(Faults(ws_max_connection_s=1)),
}


@pytest.mark.parametrize("cause", FAULTS)
def test_a_cut_closed_or_aged_connection_fails_the_pending_watch_then_reconnects(
    fast_sim: Simulator, cause: str
) -> None:
    async def body(exchange: ccxt.pro.binance) -> list[dict]:
        async def keep_watching() -> None:  # always a watch pending, as a collector has
            while True:
                await exchange.watch_trades("BTC/USDT")

        watching = asyncio.ensure_future(keep_watching())
        await exchange.watch_trades("BTC/USDT")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, FAULTS[cause], fast_sim)
        with pytest.raises(ccxt.NetworkError):
            await asyncio.wait_for(watching, 30)
        await loop.run_in_executor(None, fast_sim.set_faults, Faults())
        return await exchange.watch_trades("BTC/USDT")

    assert _watch(fast_sim, body)
    ws = settled_ws_stats(fast_sim)
    assert ws["connections_opened"] == 2 and ws["disconnects"][cause] == 1
