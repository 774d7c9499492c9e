"""OKX's per-endpoint request limits, and the shared faults spoken in OKX's dialect."""

from collections import Counter

import ccxt
import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator, ccxt_config

from .conftest import HOUR, MINUTE, NOW_MS, FakeClock, make_okx

REFUSED = {"code": "50011", "msg": "Too Many Requests"}


def _burst(http: requests.Session, url: str, path: str, n: int, **params: str) -> Counter[int]:
    return Counter(http.get(f"{url}/api/v5/{path}", params=params).status_code for _ in range(n))


@pytest.mark.parametrize(
    ("path", "params", "allowed"),
    [
        ("market/candles", {"instId": "BTC-USDT", "limit": "1"}, 40),
        ("market/history-candles", {"instId": "BTC-USDT", "limit": "1"}, 20),
        ("public/instruments", {"instType": "SPOT"}, 20),
        ("public/time", {}, 10),
    ],
)
def test_each_endpoint_allows_its_requests_per_2_seconds(
    okx_sim: Simulator,
    clock: FakeClock,
    http: requests.Session,
    path: str,
    params: dict,
    allowed: int,
) -> None:
    assert _burst(http, okx_sim.url, path, allowed + 5, **params) == {200: allowed, 429: 5}
    refused = http.get(f"{okx_sim.url}/api/v5/{path}", params=params)
    assert refused.json() == REFUSED and "Retry-After" not in refused.headers
    clock.advance(1_999)  # the window slides: the burst is 1.999 s old, still inside
    assert _burst(http, okx_sim.url, path, 1, **params) == {429: 1}
    clock.advance(1)  # refusals were not counted: the whole allowance is back
    assert _burst(http, okx_sim.url, path, allowed + 1, **params) == {200: allowed, 429: 1}
    assert okx_sim.stats()["count_429"] == 8


def test_limits_are_per_endpoint_and_instrument_type(
    okx_sim: Simulator, http: requests.Session
) -> None:
    url = okx_sim.url
    assert _burst(http, url, "market/history-candles", 21, instId="ETH-USDT") == {200: 20, 429: 1}
    assert _burst(http, url, "market/candles", 1, instId="ETH-USDT") == {200: 1}
    assert _burst(http, url, "public/instruments", 21, instType="SPOT") == {200: 20, 429: 1}
    assert _burst(http, url, "public/instruments", 1, instType="SWAP") == {200: 1}
    okx_sim.reset_stats()  # also empties the windows
    assert _burst(http, url, "market/history-candles", 1, instId="ETH-USDT") == {200: 1}


def test_ccxt_reads_a_refusal_as_rate_limit_exceeded(okx_sim: Simulator) -> None:
    ex = make_okx(okx_sim.url)
    for _ in range(10):
        ex.fetch_time()
    with pytest.raises(ccxt.RateLimitExceeded, match="50011"):
        ex.fetch_time()


def test_ccxt_default_throttling_stays_within_the_limits() -> None:
    """Real time here: ccxt spaces okx calls by 110 ms x the endpoint's cost."""
    since = NOW_MS - 30 * 24 * HOUR  # older than 1,440 bars: history-candles, 20 per 2 s
    with Simulator(exchange="okx") as sim:
        ex = ccxt.okx(ccxt_config(sim.url, "okx"))
        pages = [ex.fetch_ohlcv("BTC/USDT", "1m", since + i * 300 * MINUTE, 300) for i in range(24)]
        throttled = sim.stats()
        ex.enableRateLimit = False  # the same calls, unthrottled, are refused
        with pytest.raises(ccxt.RateLimitExceeded):
            for _ in range(21):
                ex.fetch_ohlcv("BTC/USDT", "1m", since, 300)
    assert [len(p) for p in pages] == [300] * 24
    assert throttled["requests_by_path"]["/api/v5/market/history-candles"] == 24
    assert throttled["count_429"] == 0


def test_a_tiny_budget_fault_limits_every_endpoint(
    okx_sim: Simulator, http: requests.Session
) -> None:
    okx_sim.set_faults(Faults(weight_limit=3))
    assert _burst(http, okx_sim.url, "market/candles", 4, instId="BTC-USDT") == {200: 3, 429: 1}
    assert _burst(http, okx_sim.url, "public/time", 4) == {200: 3, 429: 1}


def test_storms_server_errors_and_drops(okx_sim: Simulator, http: requests.Session) -> None:
    ex = make_okx(okx_sim.url)
    ex.load_markets()
    okx_sim.set_faults(Faults(storm_rate=1.0, storm_retry_after_s=7))
    stormy = http.get(f"{okx_sim.url}/api/v5/market/candles", params={"instId": "BTC-USDT"})
    assert (stormy.status_code, stormy.json(), stormy.headers["Retry-After"]) == (429, REFUSED, "7")
    with pytest.raises(ccxt.RateLimitExceeded):
        ex.fetch_ohlcv("BTC/USDT", "1m", limit=1)
    okx_sim.set_faults(Faults(error_rate=1.0, seed=3, weight_limit=1_000))
    statuses = Counter(http.get(f"{okx_sim.url}/api/v5/public/time").status_code for _ in range(30))
    assert set(statuses) == {500, 502, 503}
    internal = next(
        r
        for r in (http.get(f"{okx_sim.url}/api/v5/public/time") for _ in range(30))
        if r.status_code == 500
    )
    assert internal.json() == {"code": "50026", "msg": "System error. Try again later", "data": []}
    with pytest.raises(ccxt.ExchangeNotAvailable):
        ex.fetch_ohlcv("BTC/USDT", "1m", limit=1)
    okx_sim.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(ccxt.NetworkError):
        ex.fetch_ohlcv("BTC/USDT", "1m", limit=1)
    faults = okx_sim.stats()["faults_injected"]
    assert faults["storm"] == 2 and faults["drop"] == 1 and sum(statuses.values()) == 30


def test_malformed_duplicated_and_broken_candles(
    okx_sim: Simulator, http: requests.Session
) -> None:
    params = {"instId": "BTC-USDT", "bar": "1H", "after": str(NOW_MS // HOUR * HOUR), "limit": "5"}
    url = f"{okx_sim.url}/api/v5/market/history-candles"
    clean = http.get(url, params=params).json()["data"]
    bodies = set()
    for seed in range(40):
        okx_sim.set_faults(Faults(malformed_rate=1.0, seed=seed, weight_limit=1_000))
        bodies.add(http.get(url, params=params).text)
    assert '{"code":"0","msg":"","data":[]}' in bodies  # a valid page with no rows
    assert any(b.startswith('{"code":"0","msg":"","data":[["') and len(b) < 400 for b in bodies)
    assert '{"code":0,"msg":"<html>upstream garbage' in bodies
    okx_sim.set_faults(Faults(duplicate_rate=1.0, seed=1, weight_limit=1_000))
    doubled = http.get(url, params=params).json()["data"]
    assert len(doubled) == 5 and len({r[0] for r in doubled}) == 4
    assert all(row in clean for row in doubled)
    hour = NOW_MS // HOUR * HOUR - 2 * HOUR
    okx_sim.set_faults(Faults(bad_candles=((hour, hour + HOUR),), weight_limit=1_000))
    broken = {r[0]: r for r in http.get(url, params=params).json()["data"]}
    fine = {r[0]: r for r in clean}
    assert (broken[str(hour)][2], broken[str(hour)][3]) == (fine[str(hour)][3], fine[str(hour)][2])
    assert broken[str(hour - HOUR)] == fine[str(hour - HOUR)]
    kinds = okx_sim.stats()["faults_injected"]
    assert kinds["duplicate"] == 1 and sum(v for k, v in kinds.items() if "malformed" in k) == 40
