import ccxt
import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator
from marketdata_pipeline.simulator.ratelimit import WeightLimiter

from .conftest import NOW_MS, FakeClock, klines, make_exchange


def test_fixed_windows_per_ip() -> None:
    limiter = WeightLimiter()
    minute = NOW_MS // 60_000 * 60_000
    assert limiter.charge("a", 4, minute + 1_000, 10).used == 4
    assert limiter.charge("b", 4, minute + 1_000, 10).used == 4
    refused = limiter.charge("a", 7, minute + 2_500, 10)
    assert not refused.admitted and refused.used == 5 and refused.retry_after_s == 58
    assert limiter.charge("a", 7, minute + 60_000, 10).used == 7
    assert limiter.used("a", minute + 120_000) == 0


def test_weight_headers(sim: Simulator, http: requests.Session, clock: FakeClock) -> None:
    clock.now_ms = NOW_MS // 60_000 * 60_000
    used = [
        int(
            klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=1).headers[
                "X-MBX-USED-WEIGHT-1M"
            ]
        )
        for _ in range(3)
    ]
    assert used == [2, 4, 6]
    info = http.get(f"{sim.url}/api/v3/exchangeInfo")
    assert info.headers["X-MBX-USED-WEIGHT-1M"] == info.headers["X-MBX-USED-WEIGHT"] == "26"
    error = klines(http, sim.url, symbol="NOPE", interval="1m")
    assert error.status_code == 400 and error.headers["X-MBX-USED-WEIGHT-1M"] == "28"
    clock.advance(60_000)
    assert http.get(f"{sim.url}/api/v3/ping").headers["X-MBX-USED-WEIGHT-1M"] == "1"


def test_over_budget_gets_429_with_retry_after(clock: FakeClock) -> None:
    clock.now_ms = NOW_MS // 60_000 * 60_000 + 45_500
    with Simulator(clock=clock, weight_limit=30) as sim, requests.Session() as http:
        ex = make_exchange(sim.url)
        ex.load_markets()  # weight 20
        for _ in range(5):
            ex.fetch_ohlcv("BTC/USDT", "1m", limit=1)  # weight 2 each -> 30
        response = klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=1)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "15"
        assert response.json()["code"] == -1003
        assert "current limit of IP(127.0.0.1) is 30 requests per minute" in response.json()["msg"]
        with pytest.raises(ccxt.DDoSProtection):
            ex.fetch_ohlcv("BTC/USDT", "1m", limit=1)
        assert sim.stats()["count_429"] == 2
        clock.advance(15_000)
        assert len(ex.fetch_ohlcv("BTC/USDT", "1m", limit=1)) == 1


def test_fault_weight_limit_overrides_budget(sim: Simulator, http: requests.Session) -> None:
    sim.set_faults(Faults(weight_limit=3))
    assert klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=1).status_code == 200
    assert klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=1).status_code == 429
    info = http.get(f"{sim.url}/api/v3/exchangeInfo")
    assert info.status_code == 429
    sim.set_faults(Faults())
    assert http.get(f"{sim.url}/api/v3/exchangeInfo").json()["rateLimits"][0]["limit"] == 6000
