"""The OKX protocol through the unmodified ccxt okx class: markets, time, candle paging.

ccxt picks ``market/candles`` or ``market/history-candles`` from its own wall clock, so the
tests that cross that boundary run the simulator at (a frozen copy of) the wall clock.
"""

import asyncio

import ccxt
import ccxt.async_support as accxt
import pytest
import requests

from marketdata_pipeline.simulator import Simulator, ccxt_config
from marketdata_pipeline.simulator.simulator import wall_clock_ms

from .conftest import DAY, HOUR, MINUTE, NOW_MS, FakeClock, make_exchange, make_okx, okx_candles

CANDLES, HISTORY = "/api/v5/market/candles", "/api/v5/market/history-candles"


def test_load_markets_is_one_spot_instruments_call(okx_sim: Simulator) -> None:
    ex = ccxt.okx(ccxt_config(okx_sim.url, "okx"))  # default settings, rate limiting on
    assert all(url == okx_sim.url for url in (*ex.urls["api"].values(), *ex.urls["test"].values()))
    markets = ex.load_markets()
    assert set(markets) == set(okx_sim.symbols)
    btc = markets["BTC/USDT"]
    assert (btc["id"], btc["type"], btc["spot"], btc["active"], btc["margin"]) == (
        "BTC-USDT",
        "spot",
        True,
        True,
        False,
    )
    assert btc["precision"] == {"amount": 0.00001, "price": 0.01}
    assert btc["limits"]["amount"]["min"] == 0.00001
    assert btc["created"] == ex.parse8601("2017-08-17T04:00:00Z")
    assert markets["XRP/USDT"]["precision"]["price"] == 0.0001
    assert okx_sim.stats()["requests_by_path"] == {"/api/v5/public/instruments": 1}
    assert ex.fetch_time() == NOW_MS


@pytest.mark.parametrize(
    ("symbol", "timeframe", "since", "limit"),
    [
        ("BTC/USDT", "1m", NOW_MS - 3 * DAY, 300),
        ("ETH/USDT", "1h", NOW_MS - 40 * DAY, 200),
        ("XRP/USDT", "4h", None, 7),
        ("SOL/USDT", "1d", NOW_MS - 400 * DAY, 300),
        ("SHIB/USDT", "1w", None, 30),
        ("BNB/USDT", "1M", 1_640_995_200_000, 12),  # 2022-01-01
    ],
)
def test_candles_equal_the_binance_protocols(
    sim: Simulator, okx_sim: Simulator, symbol: str, timeframe: str, since: int | None, limit: int
) -> None:
    ours = make_okx(okx_sim.url).fetch_ohlcv(symbol, timeframe, since=since, limit=limit)
    theirs = make_exchange(sim.url).fetch_ohlcv(symbol, timeframe, since=since, limit=limit)
    assert len(ours) == limit and ours == theirs


def test_paging_backwards_with_until_meets_the_recent_window(okx_sim: Simulator) -> None:
    """``market/candles`` ends 1,440 bars back; ``history-candles`` goes on from there."""
    ex, current = make_okx(okx_sim.url), NOW_MS // MINUTE * MINUTE

    def back(until: int, **params: str) -> list[list[float]]:
        return ex.fetch_ohlcv("BTC/USDT", "1m", limit=300, params={"until": until, **params})

    recent, until = [], current + MINUTE
    while page := back(until):
        recent, until = page + recent, page[0][0]
    assert [c[0] for c in recent] == [current - i * MINUTE for i in range(1439, -1, -1)]
    older = back(until, type="HistoryCandles")
    assert [c[0] for c in older] == [until - i * MINUTE for i in range(300, 0, -1)]
    assert older[-1][4] == recent[0][1]  # the two endpoints join: close == next open
    assert okx_sim.stats()["requests_by_path"] == {
        "/api/v5/public/instruments": 1,
        CANDLES: 6,  # five pages of 300, 300, 300, 300, 240 bars, then an empty one
        HISTORY: 1,
    }


def test_paging_forwards_with_since_crosses_from_history_to_recent(http: requests.Session) -> None:
    clock = FakeClock(wall_clock_ms())
    current = clock.now_ms // MINUTE * MINUTE
    with Simulator(clock=clock, exchange="okx") as okx, Simulator(clock=clock) as binance:
        ex, since, pages = make_okx(okx.url), current - 1700 * MINUTE, []
        while page := ex.fetch_ohlcv("ETH/USDT", "1m", since=since, limit=300):
            pages.append(page)
            since = page[-1][0] + MINUTE
        reference = make_exchange(binance.url)
        expected = reference.fetch_ohlcv(
            "ETH/USDT", "1m", since=current - 1700 * MINUTE, limit=1000
        )
        expected += reference.fetch_ohlcv("ETH/USDT", "1m", expected[-1][0] + MINUTE, 1000)
        paths = okx.stats()["requests_by_path"]
        raw = okx_candles(http, okx.url, instId="ETH-USDT", limit=1).json()["data"]
    assert [len(p) for p in pages] == [300, 300, 300, 300, 300, 201]
    assert [c for page in pages for c in page] == expected and expected[-1][0] == current
    assert (paths[HISTORY], paths[CANDLES]) == (1, 6)  # the first page is older than 1,439 bars
    assert raw[0][0] == str(current) and raw[0][-1] == "0"  # the last bar was in progress


def test_in_progress_candle_is_confirmed_once_closed(
    okx_sim: Simulator, clock: FakeClock, http: requests.Session
) -> None:
    hour = NOW_MS // HOUR * HOUR
    latest = okx_candles(http, okx_sim.url, instId="BTC-USDT", bar="1H", limit=3).json()["data"]
    assert [(row[0], row[-1]) for row in latest] == [
        (str(hour), "0"),
        (str(hour - HOUR), "1"),
        (str(hour - 2 * HOUR), "1"),
    ]
    past = okx_candles(http, okx_sim.url, True, instId="BTC-USDT", bar="1H", limit=2).json()
    assert [row[0] for row in past["data"]] == [str(hour - HOUR), str(hour - 2 * HOUR)]
    clock.advance(hour + HOUR - NOW_MS)  # the hour closes
    closed = okx_candles(http, okx_sim.url, instId="BTC-USDT", bar="1H", limit=2).json()["data"]
    assert closed[1][0] == str(hour) and closed[1][-1] == "1" and closed[0][-1] == "0"
    assert closed[1][1] == latest[0][1]  # same open; the rest of the hour's trades came in
    final = okx_candles(http, okx_sim.url, True, instId="BTC-USDT", bar="1H", limit=1).json()
    assert final["data"] == [closed[1]]


def test_async_client_matches_sync(okx_sim: Simulator) -> None:
    async def run() -> list[list[float]]:
        ex = accxt.okx(ccxt_config(okx_sim.url, "okx"))
        try:
            await ex.load_markets()
            return await ex.fetch_ohlcv("ETH/USDT", "15m", since=NOW_MS - DAY, limit=50)
        finally:
            await ex.close()

    candles = asyncio.run(run())
    assert len(candles) == 50 and candles[0][0] == -(-(NOW_MS - DAY) // (15 * MINUTE)) * 15 * MINUTE
    assert candles == make_okx(okx_sim.url).fetch_ohlcv("ETH/USDT", "15m", NOW_MS - DAY, 50)


def test_unknown_exchange_is_refused() -> None:
    with pytest.raises(ValueError, match="'kraken' is not simulated"):
        Simulator(exchange="kraken")
    with pytest.raises(ValueError, match="'kraken' is not simulated"):
        ccxt_config("http://127.0.0.1:1", "kraken")
