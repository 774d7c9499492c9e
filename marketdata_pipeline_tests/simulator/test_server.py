"""Binance protocol over real HTTP, checked through the unmodified ccxt binance class."""

import time
from decimal import Decimal

import ccxt
import pytest
import requests

from marketdata_pipeline.simulator import Simulator

from .conftest import DAY, HOUR, MINUTE, NOW_MS, FakeClock, klines, make_exchange


def test_ping_time_and_exchange_info(sim: Simulator, http: requests.Session) -> None:
    assert http.get(f"{sim.url}/api/v3/ping").json() == {}
    assert http.get(f"{sim.url}/api/v3/time").json() == {"serverTime": NOW_MS}
    info = http.get(f"{sim.url}/api/v3/exchangeInfo").json()
    assert info["rateLimits"][0] == {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": 6000,
    }
    entry = info["symbols"][0]
    assert entry["permissionSets"] == [["SPOT"]] and entry["isSpotTradingAllowed"] is True
    one = http.get(f"{sim.url}/api/v3/exchangeInfo", params={"symbol": "SOLUSDT"}).json()
    assert [s["symbol"] for s in one["symbols"]] == ["SOLUSDT"]
    two = http.get(f"{sim.url}/api/v3/exchangeInfo", params={"symbols": '["BTCUSDT","XRPUSDT"]'})
    assert [s["baseAsset"] for s in two.json()["symbols"]] == ["BTC", "XRP"]


def test_fetch_ohlcv_paging(exchange: ccxt.binance) -> None:
    since = NOW_MS // HOUR * HOUR - 30 * HOUR
    page = exchange.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=1000)
    assert [c[0] for c in page] == [since + i * MINUTE for i in range(1000)]
    nxt = exchange.fetch_ohlcv("BTC/USDT", "1m", since=page[-1][0] + MINUTE, limit=2)
    assert nxt[0][1] == page[-1][4]  # continuity across pages: open == previous close
    default = exchange.fetch_ohlcv("BTC/USDT", "1m", since=since)
    assert len(default) == 500
    bounded = exchange.fetch_ohlcv(
        "BTC/USDT", "1h", since=since, params={"until": since + 5 * HOUR}
    )
    assert [c[0] for c in bounded] == [since + i * HOUR for i in range(6)]


def test_listing_start_only_end_time_and_latest(exchange: ccxt.binance) -> None:
    first = exchange.fetch_ohlcv("SOL/USDT", "1m", since=0, limit=2)
    assert first[0][0] == exchange.parse8601("2020-08-11T06:00:00Z")
    end = NOW_MS - 3 * DAY
    tail = exchange.fetch_ohlcv("SOL/USDT", "1d", params={"endTime": end}, limit=3)
    assert [c[0] for c in tail] == [
        end // DAY * DAY - 2 * DAY,
        end // DAY * DAY - DAY,
        end // DAY * DAY,
    ]
    latest = exchange.fetch_ohlcv("SOL/USDT", "4h", limit=3)
    assert latest[-1][0] == NOW_MS // (4 * HOUR) * (4 * HOUR)


def test_limit_is_capped_at_1000(sim: Simulator, http: requests.Session) -> None:
    response = klines(http, sim.url, symbol="BTCUSDT", interval="1m", startTime=0, limit=5000)
    assert response.status_code == 200 and len(response.json()) == 1000
    assert klines(http, sim.url, symbol="BTCUSDT", interval="1m", limit=0).json()["code"] == -1130
    huge = klines(http, sim.url, symbol="BTCUSDT", interval="1m", startTime=10**19)
    assert huge.status_code == 400 and huge.json()["code"] == -1100  # not a 500 from int64


def test_in_progress_candle_is_partial(exchange: ccxt.binance, clock: FakeClock) -> None:
    hour_open = NOW_MS // HOUR * HOUR
    current = exchange.fetch_ohlcv("XRP/USDT", "1h", limit=2)[-1]
    minutes = exchange.fetch_ohlcv("XRP/USDT", "1m", since=hour_open, limit=1000)
    assert len(minutes) == (NOW_MS - hour_open) // MINUTE + 1
    assert current == _aggregate(minutes)
    clock.advance(10 * MINUTE)
    later = exchange.fetch_ohlcv("XRP/USDT", "1h", since=hour_open, limit=1)[0]
    assert later[5] > current[5] and later[1] == current[1]


def _aggregate(minutes: list[list[float]]) -> list[float]:
    return [
        minutes[0][0],
        minutes[0][1],
        max(m[2] for m in minutes),
        min(m[3] for m in minutes),
        minutes[-1][4],
        sum(m[5] for m in minutes),  # volumes are multiples of 2**-8: float sums are exact
    ]


@pytest.mark.parametrize(
    ("coarse", "fine", "count"), [("1h", "1m", 60), ("1d", "1h", 24), ("1w", "1d", 7)]
)
def test_aggregation_is_exact_over_http(
    exchange: ccxt.binance, coarse: str, fine: str, count: int
) -> None:
    candles = exchange.fetch_ohlcv(
        "BNB/USDT", coarse, params={"endTime": NOW_MS - 30 * DAY}, limit=2
    )
    parts = exchange.fetch_ohlcv("BNB/USDT", fine, since=candles[0][0], limit=count)
    assert parts[-1][0] < candles[1][0]
    assert candles[0] == _aggregate(parts)


def test_raw_rows_aggregate_exactly(sim: Simulator, http: requests.Session) -> None:
    start = NOW_MS // DAY * DAY - 100 * DAY
    hour = klines(http, sim.url, symbol="SHIBUSDT", interval="1h", startTime=start, limit=1).json()[
        0
    ]
    rows = klines(http, sim.url, symbol="SHIBUSDT", interval="1m", startTime=start, limit=60).json()
    assert hour[6] == start + HOUR - 1
    for col in (5, 7, 9, 10):  # exact decimals: quote volumes are not binary fractions
        assert Decimal(hour[col]) == sum(Decimal(r[col]) for r in rows)
    for col in (5, 9):  # base volumes are multiples of 2**-8, so even float sums are exact
        assert float(hour[col]) == sum(float(r[col]) for r in rows)
    assert hour[8] == sum(r[8] for r in rows)


def test_weeks_open_on_monday_over_http(exchange: ccxt.binance) -> None:
    weeks = exchange.fetch_ohlcv("BTC/USDT", "1w", since=0, limit=1000)
    assert weeks[0][0] == exchange.parse8601("2017-08-14T00:00:00Z")
    assert all((w[0] // DAY - 4) % 7 == 0 for w in weeks)
    assert weeks[-1][0] == NOW_MS // DAY * DAY - 4 * DAY  # Monday 2024-03-11
    months = exchange.fetch_ohlcv("BTC/USDT", "1M", since=0, limit=1000)
    assert exchange.iso8601(months[-1][0]) == "2024-03-01T00:00:00.000Z"


def test_unknown_symbol_and_interval(
    sim: Simulator, http: requests.Session, exchange: ccxt.binance
) -> None:
    bad_symbol = klines(http, sim.url, symbol="NOPEUSDT", interval="1m")
    assert bad_symbol.status_code == 400 and bad_symbol.json() == {
        "code": -1121,
        "msg": "Invalid symbol.",
    }
    bad_interval = klines(http, sim.url, symbol="BTCUSDT", interval="7m")
    assert bad_interval.status_code == 400 and bad_interval.json() == {
        "code": -1120,
        "msg": "Invalid interval.",
    }
    assert klines(http, sim.url, interval="1m").json()["code"] == -1102
    with pytest.raises(ccxt.BadSymbol):
        exchange.publicGetKlines({"symbol": "NOPEUSDT", "interval": "1m"})
    with pytest.raises(ccxt.BadRequest):
        exchange.fetch_ohlcv("BTC/USDT", "7m")


def test_determinism_across_instances(clock: FakeClock) -> None:
    with Simulator(clock=clock) as a, Simulator(clock=FakeClock(NOW_MS)) as b:
        params = {
            "symbol": "ETHUSDT",
            "interval": "15m",
            "startTime": NOW_MS - 40 * DAY,
            "limit": 1000,
        }
        with requests.Session() as http:
            assert klines(http, a.url, **params).text == klines(http, b.url, **params).text


def test_custom_symbols(clock: FakeClock) -> None:
    symbols = {"FOO/USDT": {"listing": NOW_MS - 2 * HOUR, "price": 1.5, "volume": 50.0}}
    with Simulator(clock=clock, symbols=symbols) as sim:
        ex = make_exchange(sim.url)
        assert list(ex.load_markets()) == ["FOO/USDT"]
        candles = ex.fetch_ohlcv("FOO/USDT", "1m", since=0, limit=1000)
        assert candles[0][0] == (NOW_MS - 2 * HOUR) // MINUTE * MINUTE + MINUTE
        assert candles[-1][0] == NOW_MS // MINUTE * MINUTE
        assert 0.5 < candles[-1][4] < 5


def test_ninety_days_of_minutes_is_fast(exchange: ccxt.binance) -> None:
    """The benchmark workload: ~130 sequential pages of 1000 candles through sync ccxt."""
    cursor, pages, started = NOW_MS - 90 * DAY, 0, time.perf_counter()
    while True:
        page = exchange.fetch_ohlcv("ETH/USDT", "1m", since=cursor, limit=1000)
        pages += 1
        if len(page) < 1000:
            break
        cursor = page[-1][0] + MINUTE
    assert pages == 130 and page[-1][0] == NOW_MS // MINUTE * MINUTE
    assert time.perf_counter() - started < 15
