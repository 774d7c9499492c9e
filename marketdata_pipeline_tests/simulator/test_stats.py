import asyncio

import ccxt.async_support as accxt
import requests

from marketdata_pipeline.simulator import Faults, Simulator, ccxt_config
from marketdata_pipeline.simulator.stats import Stats

from .conftest import NOW_MS, FakeClock, klines


def test_rolling_window_is_stricter_than_fixed_minutes() -> None:
    stats = Stats()
    minute = NOW_MS // 60_000 * 60_000
    for t, weight in [
        (minute + 59_000, 10),
        (minute + 61_000, 10),
        (minute + 118_999, 5),
        (minute + 119_001, 1),
    ]:
        stats.begin()
        stats.end("/api/v3/klines", "200", weight, t)
    snapshot = stats.snapshot()
    assert snapshot["max_weight_in_any_rolling_60s"] == 25
    assert snapshot["weight_used_total"] == 26


def test_counts_over_http(sim: Simulator, http: requests.Session, clock: FakeClock) -> None:
    clock.now_ms = NOW_MS // 60_000 * 60_000 + 50_000
    for _ in range(3):
        klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=1)
    clock.advance(20_000)  # next fixed minute, same rolling window
    klines(http, sim.url, symbol="ETHUSDT", interval="1h", limit=1)
    klines(http, sim.url, symbol="ETHUSDT", interval="1h", limit=1)
    klines(http, sim.url, symbol="ETHUSDT", interval="5x", limit=1)
    http.get(f"{sim.url}/api/v3/ping")
    http.get(f"{sim.url}/sim/stats")  # control calls are not counted
    stats = sim.stats()
    assert stats["requests"] == 7 and stats["klines_requests"] == 6
    assert stats["requests_by_path"] == {"/api/v3/klines": 6, "/api/v3/ping": 1}
    assert stats["status_counts"] == {"200": 6, "400": 1}
    assert stats["klines_by_market"] == {"BTCUSDT/1m": 3, "ETHUSDT/1h": 2}
    assert stats["weight_used_total"] == 13
    assert stats["max_weight_in_any_rolling_60s"] == 13
    assert int(http.get(f"{sim.url}/api/v3/ping").headers["X-MBX-USED-WEIGHT-1M"]) == 8
    sim.reset_stats()
    assert sim.stats()["requests"] == 0


def test_max_concurrency_with_async_ccxt(sim: Simulator) -> None:
    sim.set_faults(Faults(latency_ms=150))

    async def run() -> None:
        ex = accxt.binance({**ccxt_config(sim.url), "enableRateLimit": False})
        try:
            await ex.load_markets()
            await asyncio.gather(*(ex.fetch_ohlcv("BTC/USDT", "1m", limit=10) for _ in range(12)))
        finally:
            await ex.close()

    asyncio.run(run())
    stats = sim.stats()
    assert stats["max_concurrent_requests"] == 12
    assert stats["in_flight"] == 0
