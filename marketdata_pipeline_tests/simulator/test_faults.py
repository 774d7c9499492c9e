"""Each fault kind is observable on the wire and maps to a known ccxt behaviour."""

import asyncio
import time
from collections import Counter

import ccxt
import ccxt.async_support as accxt
import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator, ccxt_config
from marketdata_pipeline.simulator.faults import FaultInjector

from .conftest import HOUR, MINUTE, NOW_MS, klines


def _statuses(http: requests.Session, url: str, n: int) -> Counter[int]:
    return Counter(
        klines(http, url, symbol="BTCUSDT", interval="1m", limit=1).status_code for _ in range(n)
    )


def test_faults_validate_and_serialize() -> None:
    faults = Faults.from_dict(
        {"error_rate": 0.5, "maintenance": [["2024-01-01T00:00", 1704070800000]]}
    )
    assert faults.maintenance == ((1704067200000, 1704070800000),)
    assert Faults.from_dict(faults.to_dict()) == faults
    with pytest.raises(ValueError):
        Faults.from_dict({"error_rat": 0.5})
    with pytest.raises(ValueError):
        Faults(drop_rate=1.5)


def test_seeded_dice_are_reproducible() -> None:
    first, second = (FaultInjector(Faults(error_rate=0.5, drop_rate=0.5, seed=9)) for _ in range(2))
    assert [first.plan() for _ in range(50)] == [second.plan() for _ in range(50)]
    injector = FaultInjector(Faults(error_rate=0.3, seed=1))
    hits = sum(injector.plan().error_status is not None for _ in range(2_000))
    assert 500 < hits < 700


def test_server_errors(sim: Simulator, http: requests.Session, exchange: ccxt.binance) -> None:
    sim.set_faults(Faults(error_rate=0.3, seed=4))
    counts = _statuses(http, sim.url, 100)
    assert 15 <= sum(counts[s] for s in (500, 502, 503)) <= 45 and counts[200] >= 55
    sim.set_faults(Faults(error_rate=1.0, seed=4))
    raised = set()
    for _ in range(20):
        with pytest.raises(ccxt.OperationFailed) as info:
            exchange.fetch_ohlcv("BTC/USDT", "1m", limit=1)
        raised.add(type(info.value))
    # 500 carries {"code":-1000} -> OperationFailed; 502/503 HTML -> ExchangeNotAvailable
    assert raised == {ccxt.OperationFailed, ccxt.ExchangeNotAvailable}
    assert set(sim.stats()["faults_injected"]) >= {"http_500", "http_502", "http_503"}


def test_dropped_connections(
    sim: Simulator, http: requests.Session, exchange: ccxt.binance
) -> None:
    sim.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(requests.ConnectionError):
        klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=1)
    with pytest.raises(ccxt.NetworkError):
        exchange.fetch_ohlcv("BTC/USDT", "1m", limit=1)

    async def run() -> None:
        ex = accxt.binance({**ccxt_config(sim.url), "enableRateLimit": False})
        ex.set_markets(exchange.markets)
        try:
            with pytest.raises(ccxt.ExchangeNotAvailable):
                await ex.fetch_ohlcv("BTC/USDT", "1m", limit=1)
        finally:
            await ex.close()

    asyncio.run(run())
    # aiohttp transparently retries an idempotent GET once after a server disconnect,
    # so the async client shows up twice: 1 (requests) + 1 (sync ccxt) + 2 (async ccxt).
    assert sim.stats()["status_counts"]["dropped"] == 4
    sim.set_faults(Faults())
    assert klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=1).status_code == 200


def test_malformed_bodies(sim: Simulator, http: requests.Session, exchange: ccxt.binance) -> None:
    sim.set_faults(Faults(malformed_rate=1.0, seed=2))
    bodies = [klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=3) for _ in range(20)]
    assert all(r.status_code == 200 for r in bodies)
    assert {"[]", '{"code":0,"msg":"<html>upstream garbage'} <= {r.text for r in bodies}
    assert any(r.text.startswith("[[") and not r.text.endswith("]]") for r in bodies)
    # ccxt does not raise: it returns [] or rows full of None, so clients must validate.
    results = [exchange.fetch_ohlcv("BTC/USDT", "1m", limit=3) for _ in range(10)]
    assert all(r == [] or any(v is None for row in r for v in row) for r in results)
    kinds = sim.stats()["faults_injected"]
    assert {"malformed_truncated", "malformed_empty", "malformed_garbage"} <= set(kinds)


def test_429_storms(sim: Simulator, http: requests.Session, exchange: ccxt.binance) -> None:
    sim.set_faults(Faults(storm_rate=1.0, storm_retry_after_s=3))
    response = klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=1)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert response.json()["code"] == -1003
    with pytest.raises(ccxt.DDoSProtection):
        exchange.fetch_ohlcv("BTC/USDT", "1m", limit=1)
    sim.set_faults(Faults(storm_rate=0.2, seed=5))
    counts = _statuses(http, sim.url, 100)
    assert 8 <= counts[429] <= 35


def test_latency_and_slow_responses(sim: Simulator, http: requests.Session) -> None:
    sim.set_faults(Faults(latency_ms=100, latency_jitter_ms=50))
    started = time.perf_counter()
    http.get(f"{sim.url}/api/v3/ping")
    assert 0.1 <= time.perf_counter() - started < 1.0
    started = time.perf_counter()
    http.get(f"{sim.url}/sim/stats")  # control endpoints are never delayed
    assert time.perf_counter() - started < 0.1
    sim.set_faults(Faults(slow_rate=1.0, slow_ms=300))
    started = time.perf_counter()
    http.get(f"{sim.url}/api/v3/ping")
    assert time.perf_counter() - started >= 0.3
    assert sim.stats()["faults_injected"]["slow"] == 1


def test_maintenance_gap(sim: Simulator, exchange: ccxt.binance) -> None:
    start = NOW_MS // HOUR * HOUR - 5 * HOUR
    sim.set_faults(Faults(maintenance=((start + 30 * MINUTE, start + 90 * MINUTE),)))
    minutes = exchange.fetch_ohlcv("ETH/USDT", "1m", since=start, limit=120)
    times = [c[0] for c in minutes]
    assert len(times) == 120
    assert times[29] == start + 29 * MINUTE and times[30] == start + 90 * MINUTE
    hours = exchange.fetch_ohlcv("ETH/USDT", "1h", since=start, limit=3)
    assert [h[0] for h in hours] == [start, start + HOUR, start + 2 * HOUR]
    assert hours[0][4] == minutes[29][4]  # close of the last minute before the outage
    assert hours[1][1] == minutes[30][1]  # reopens at the first minute after it


def test_bad_candles_have_high_and_low_swapped(sim: Simulator, exchange: ccxt.binance) -> None:
    start = NOW_MS // HOUR * HOUR - 5 * HOUR
    clean = exchange.fetch_ohlcv("BTC/USDT", "1m", since=start, limit=10)
    sim.set_faults(Faults(bad_candles=((start + 2 * MINUTE, start + 4 * MINUTE),)))
    served = exchange.fetch_ohlcv("BTC/USDT", "1m", since=start, limit=10)
    broken = [i for i, (c, s) in enumerate(zip(clean, served, strict=True)) if c != s]
    assert broken == [2, 3]
    assert all(served[i][2] == clean[i][3] and served[i][3] == clean[i][2] for i in broken)


def test_duplicated_out_of_order_rows(
    sim: Simulator, http: requests.Session, exchange: ccxt.binance
) -> None:
    sim.set_faults(Faults(duplicate_rate=1.0, seed=3))
    rows = klines(
        http, sim.url, symbol="BTCUSDT", interval="1m", startTime=NOW_MS - HOUR, limit=20
    ).json()
    times = [r[0] for r in rows]
    assert len(times) == 20 and len(set(times)) == 19
    assert times != sorted(times)
    candles = exchange.fetch_ohlcv("BTC/USDT", "1m", since=NOW_MS - HOUR, limit=20)
    stamps = [c[0] for c in candles]
    assert stamps == sorted(stamps) and len(set(stamps)) == 19  # ccxt sorts, keeps the duplicate
    assert sim.stats()["faults_injected"]["duplicate"] == 2


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [("auth", 401, ccxt.AuthenticationError), ("bad_request", 400, ccxt.BadRequest)],
)
def test_rejections_are_permanent_ccxt_errors(
    sim: Simulator, http: requests.Session, exchange: ccxt.binance, kind, status, error
) -> None:
    sim.set_faults(Faults(reject=kind))
    assert _statuses(http, sim.url, 3) == Counter({status: 3})
    with pytest.raises(error) as raised:
        exchange.fetch_ohlcv("BTC/USDT", "1m", limit=1)
    assert not isinstance(raised.value, ccxt.OperationFailed)  # nothing a retry could fix
    assert sim.stats()["faults_injected"][f"reject_{kind}"] == 4
    with pytest.raises(ValueError, match="reject must be one of '', 'auth', 'bad_request'"):
        Faults(reject="teapot")


def test_error_windows_fail_only_requests_starting_inside_them(
    sim: Simulator, http: requests.Session
) -> None:
    start = NOW_MS // HOUR * HOUR - 10 * HOUR
    sim.set_faults(Faults(error_windows=((start, start + HOUR),)))
    codes = [
        klines(http, sim.url, symbol="BTCUSDT", interval="1m", startTime=t, limit=1).status_code
        for t in (start - MINUTE, start, start + HOUR - MINUTE, start + HOUR)
    ]
    assert codes == [200, 503, 503, 200]
    assert sim.stats()["faults_injected"]["error_window"] == 2
