"""``GET /api/v3/ticker/24hr`` over HTTP: an exact aggregation of the simulator's own klines."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import ccxt
import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator
from marketdata_pipeline.simulator.ticker import weight

from .conftest import DAY, HOUR, MINUTE, NOW_MS, FakeClock


def _get(http: requests.Session, url: str, path: str, **params: Any) -> requests.Response:
    return http.get(f"{url}/api/v3/{path}", params=params, timeout=30)


def _expected(http: requests.Session, url: str, symbol: str, now: int) -> dict[str, Any]:
    """The ticker rebuilt from 1m klines, the latest trade, the first aggTrade and the book."""
    start = -(-(now - DAY) // MINUTE) * MINUTE
    rows: list[list] = []
    while not rows or len(rows) % 1000 == 0:
        cursor = rows[-1][0] + MINUTE if rows else start
        page = _get(http, url, "klines", symbol=symbol, interval="1m", startTime=cursor, limit=1000)
        rows += page.json()
        if len(page.json()) < 1000:
            break
    assert rows[0][0] >= now - DAY and rows[-1][0] == now // MINUTE * MINUTE
    (last,) = _get(http, url, "trades", symbol=symbol, limit=1).json()
    (first,) = _get(http, url, "aggTrades", symbol=symbol, startTime=start, limit=1).json()
    book = _get(http, url, "depth", symbol=symbol, limit=1).json()
    open_, last_price = Decimal(rows[0][1]), Decimal(last["price"])
    volume = sum(Decimal(r[5]) for r in rows)
    quote = sum(Decimal(r[7]) for r in rows)
    eight = Decimal("0.00000001")
    return {
        "symbol": symbol,
        "priceChange": last_price - open_,
        "priceChangePercent": ((last_price - open_) * 100 / open_).quantize(
            Decimal("0.001"), ROUND_HALF_UP
        ),
        "weightedAvgPrice": (quote / volume).quantize(eight, ROUND_HALF_UP),
        "prevClosePrice": open_,  # a minute opens at the previous close
        "lastPrice": last_price,
        "lastQty": Decimal(last["qty"]),
        "bidPrice": Decimal(book["bids"][0][0]),
        "bidQty": Decimal(book["bids"][0][1]),
        "askPrice": Decimal(book["asks"][0][0]),
        "askQty": Decimal(book["asks"][0][1]),
        "openPrice": open_,
        "highPrice": max(Decimal(r[2]) for r in rows),
        "lowPrice": min(Decimal(r[3]) for r in rows),
        "volume": volume,
        "quoteVolume": quote,
        "openTime": now - DAY,
        "closeTime": now,
        "firstId": first["f"],
        "lastId": last["id"],
        "count": sum(r[8] for r in rows),
    }


def _exact(ticker: dict[str, Any]) -> dict[str, Any]:
    return {k: Decimal(v) if isinstance(v, str) and k != "symbol" else v for k, v in ticker.items()}


def test_ticker_is_the_aggregate_of_the_klines(
    sim: Simulator, http: requests.Session, exchange: ccxt.binance, clock: FakeClock
) -> None:
    for now in (NOW_MS, NOW_MS + 3 * HOUR + 1):  # mid-minute, and one ms into a minute
        clock.now_ms = now
        ticker = _get(http, sim.url, "ticker/24hr", symbol="BTCUSDT").json()
        expected = _expected(http, sim.url, "BTCUSDT", now)
        assert _exact(ticker) == expected
        assert all(len(v.split(".")[1]) == 8 for k, v in ticker.items() if k.endswith("Price"))
        assert ticker["count"] == ticker["lastId"] - ticker["firstId"] + 1  # no gap: no hole
        parsed = exchange.fetch_ticker("BTC/USDT")
        assert parsed["timestamp"] == now and parsed["last"] == float(expected["lastPrice"])
        assert (parsed["open"], parsed["high"], parsed["low"]) == (
            float(expected["openPrice"]),
            float(expected["highPrice"]),
            float(expected["lowPrice"]),
        )
        assert parsed["bid"] < parsed["ask"] and parsed["baseVolume"] == float(expected["volume"])


def test_exact_values_at_a_known_time(sim: Simulator, http: requests.Session) -> None:
    ticker = _get(http, sim.url, "ticker/24hr", symbol="BTCUSDT").json()
    assert {k: ticker[k] for k in ("priceChangePercent", "lastPrice", "quoteVolume", "count")} == {
        "priceChangePercent": "-3.388",
        "lastPrice": "42959.76000000",
        "quoteVolume": "1416852424.34828125",
        "count": 873871,
    }


def test_lists_all_weights_and_mini(
    sim: Simulator, http: requests.Session, exchange: ccxt.binance
) -> None:
    def used(response: requests.Response) -> int:
        return int(response.headers["X-MBX-USED-WEIGHT-1M"])

    sim.reset_stats()
    one = _get(http, sim.url, "ticker/24hr", symbol="ETHUSDT")
    two = _get(http, sim.url, "ticker/24hr", symbols='["SOLUSDT","ETHUSDT"]')
    every = _get(http, sim.url, "ticker/24hr")
    assert (used(one), used(two), used(every)) == (2, 4, 84)
    assert [t["symbol"] for t in two.json()] == ["SOLUSDT", "ETHUSDT"]
    assert two.json()[1] == one.json() and every.json()[1] == one.json()
    assert [t["symbol"] for t in every.json()] == [
        "BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT", "SOLUSDT", "SHIBUSDT"
    ]  # fmt: skip
    mini = _get(http, sim.url, "ticker/24hr", symbol="ETHUSDT", type="MINI").json()
    assert mini == {k: v for k, v in one.json().items() if k in mini} and len(mini) == 12
    tickers = exchange.fetch_tickers(["BTC/USDT", "XRP/USDT"])
    assert sorted(tickers) == ["BTC/USDT", "XRP/USDT"]
    assert (
        tickers["XRP/USDT"]["info"] == _get(http, sim.url, "ticker/24hr", symbol="XRPUSDT").json()
    )
    assert sim.stats()["ticker_requests"] == 6
    names = [f'"S{i}USDT"' for i in range(101)]
    assert [weight({"symbols": "[" + ",".join(names[:n]) + "]"}) for n in (1, 20, 21, 100, 101)] == [
        2, 2, 40, 40, 80
    ]  # fmt: skip
    assert weight({"symbol": "BTCUSDT"}) == 2 and weight({}) == 80


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": "NOPEUSDT"}, -1121),
        ({"symbols": '["BTCUSDT","NOPEUSDT"]'}, -1121),
        ({"symbols": '["BTCUSDT","BTCUSDT"]'}, -1151),
        ({"symbols": "BTCUSDT"}, -1100),
        ({"symbol": "BTCUSDT", "symbols": '["ETHUSDT"]'}, -1128),
        ({"symbol": "BTCUSDT", "type": "FAT"}, -1139),
    ],
)
def test_ticker_errors(sim: Simulator, http: requests.Session, params: dict, code: int) -> None:
    response = _get(http, sim.url, "ticker/24hr", **params)
    assert response.status_code == 400 and response.json()["code"] == code
    if code == -1121:
        assert response.json() == {"code": -1121, "msg": "Invalid symbol."}


def test_maintenance_hides_its_minutes_from_the_ticker(
    sim: Simulator, http: requests.Session
) -> None:
    gap = (NOW_MS - 5 * HOUR, NOW_MS - 4 * HOUR)
    sim.set_faults(Faults(maintenance=(gap,)))
    ticker = _get(http, sim.url, "ticker/24hr", symbol="ETHUSDT").json()
    assert _exact(ticker) == _expected(http, sim.url, "ETHUSDT", NOW_MS)
    assert ticker["count"] < ticker["lastId"] - ticker["firstId"] + 1  # the hidden hour's ids


def test_faults_apply_to_tickers(sim: Simulator, exchange: ccxt.binance) -> None:
    for faults, error in (
        (Faults(error_rate=1.0, seed=1), ccxt.OperationFailed),
        (Faults(storm_rate=1.0), ccxt.DDoSProtection),
        (Faults(drop_rate=1.0), ccxt.NetworkError),
    ):
        sim.set_faults(faults)
        with pytest.raises(error):
            exchange.fetch_tickers(["BTC/USDT"])
    sim.set_faults(Faults(malformed_rate=1.0, seed=0))  # a truncated body first
    # ccxt hands the undecodable text to its parser, which fails outside ccxt's error classes:
    # a collector must treat any exception from fetch_tickers as a bad answer.
    with pytest.raises(AttributeError):
        exchange.fetch_tickers(["BTC/USDT"])
    garbage = exchange.fetch_ticker("BTC/USDT")  # a body that is not the ticker parses to Nones
    assert garbage["last"] is None and garbage["bid"] is None
    stats = sim.stats()
    assert stats["ticker_requests"] == 5
    assert {kind.split("_")[0] for kind in stats["faults_injected"]} == {
        "http",
        "storm",
        "drop",
        "malformed",
    }
