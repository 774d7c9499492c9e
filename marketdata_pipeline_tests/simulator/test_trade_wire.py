"""Binance's trade endpoints over HTTP, through the unmodified ccxt binance class."""

from decimal import Decimal
from itertools import pairwise
from typing import Any

import ccxt
import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator

from .conftest import DAY, HOUR, MINUTE, NOW_MS, FakeClock, make_exchange

MIDNIGHT = NOW_MS // DAY * DAY - DAY  # 2024-03-14T00:00Z


def _klines(ex: ccxt.binance, symbol: str, interval: str, start: int, end: int) -> list[list]:
    """Raw kline rows opening in [start, end), as exact numbers (close time dropped)."""
    rows: list[list] = []
    cursor = start
    while cursor < end:
        params = {"symbol": symbol, "interval": interval, "startTime": cursor, "limit": 1000}
        page = ex.publicGetKlines({**params, "endTime": end - 1})
        rows += page
        cursor = page[-1][6] + 1 if len(page) == 1000 else end
    return [
        [r[0], *map(Decimal, r[1:6]), Decimal(r[7]), r[8], Decimal(r[9]), Decimal(r[10])]
        for r in rows
    ]


def _candles(trades: list[dict[str, Any]], width: int) -> list[list]:
    """Kline rows built from aggTrades with exact decimals, like the pipeline will."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for t in trades:
        groups.setdefault(t["T"] // width * width, []).append(t)
    rows = []
    for open_time, group in sorted(groups.items()):
        price = [Decimal(t["p"]) for t in group]
        qty = [Decimal(t["q"]) for t in group]
        quote = [p * q for p, q in zip(price, qty, strict=True)]
        taker = [not t["m"] for t in group]
        rows.append(
            [
                open_time,
                price[0],
                max(price),
                min(price),
                price[-1],
                sum(qty),
                sum(quote),
                sum(t["l"] - t["f"] + 1 for t in group),
                sum(q for q, buy in zip(qty, taker, strict=True) if buy),
                sum(v for v, buy in zip(quote, taker, strict=True) if buy),
            ]
        )
    return rows


def _walk(ex: ccxt.binance, symbol: str, start: int, end: int) -> list[dict[str, Any]]:
    """All aggTrades in [start, end): one time probe, then pages from the next id on."""
    probe = ex.publicGetAggTrades(
        {"symbol": symbol, "startTime": start, "endTime": start + HOUR, "limit": 1}
    )
    trades, cursor = [], probe[0]["a"]
    while True:
        page = ex.publicGetAggTrades({"symbol": symbol, "fromId": cursor, "limit": 1000})
        trades += [t for t in page if t["T"] < end]
        if page[-1]["T"] >= end:
            return trades
        cursor = page[-1]["a"] + 1


def test_agg_trades_sum_to_klines_across_hours_and_a_day(exchange: ccxt.binance) -> None:
    start, end = MIDNIGHT - HOUR, MIDNIGHT + HOUR
    trades = _walk(exchange, "BTCUSDT", start, end)
    assert 40_000 < len(trades) < 70_000
    assert [t["a"] for t in trades] == list(range(trades[0]["a"], trades[0]["a"] + len(trades)))
    assert all(b["f"] == a["l"] + 1 for a, b in pairwise(trades))
    for interval, width in (("1m", MINUTE), ("1h", HOUR)):
        assert _candles(trades, width) == _klines(exchange, "BTCUSDT", interval, start, end)


def test_a_whole_day_at_a_low_rate_sums_to_every_interval(clock: FakeClock) -> None:
    with Simulator(clock=clock, trades_per_minute=20) as sim:
        ex = make_exchange(sim.url)
        trades = _walk(ex, "XRPUSDT", MIDNIGHT, MIDNIGHT + DAY)
        for interval, width in (("1m", MINUTE), ("15m", 15 * MINUTE), ("4h", 4 * HOUR)):
            assert _candles(trades, width) == _klines(
                ex, "XRPUSDT", interval, MIDNIGHT, MIDNIGHT + DAY
            )
        day = _klines(ex, "XRPUSDT", "1d", MIDNIGHT, MIDNIGHT + DAY)
        assert _candles(trades, DAY) == day
        assert 0.95 < day[0][7] / (20 * 1_440) < 1.05  # --trades-per-minute is respected
        assert day[0][7] == trades[-1]["l"] - trades[0]["f"] + 1


def test_ccxt_fetch_trades_parses_them(exchange: ccxt.binance) -> None:
    since = MIDNIGHT - 10 * MINUTE
    trades = exchange.fetch_trades("ETH/USDT", since=since, limit=3)
    first = trades[0]
    assert first["timestamp"] >= since and first["symbol"] == "ETH/USDT"
    assert first["id"] == str(first["info"]["a"]) and first["amount"] == float(first["info"]["q"])
    assert first["side"] == ("sell" if first["info"]["m"] else "buy")
    by_id = exchange.fetch_trades("ETH/USDT", limit=3, params={"fromId": int(first["id"])})
    assert [t["id"] for t in by_id] == [t["id"] for t in trades]


def test_raw_trades_make_up_their_agg_trades(sim: Simulator) -> None:
    ex = make_exchange(sim.url, apiKey="any")  # ccxt wants a key; Binance no longer does
    aggs = ex.publicGetAggTrades({"symbol": "SOLUSDT", "startTime": MIDNIGHT, "limit": 300})
    first, last = aggs[0]["f"], aggs[-1]["l"]
    raw = ex.publicGetHistoricalTrades({"symbol": "SOLUSDT", "fromId": first, "limit": 1000})
    raw = raw[: last - first + 1]
    assert [r["id"] for r in raw] == list(range(first, last + 1))
    for agg in aggs:
        parts = raw[agg["f"] - first : agg["l"] - first + 1]
        assert {(r["price"], r["time"], r["isBuyerMaker"]) for r in parts} == {
            (agg["p"], agg["T"], agg["m"])
        }
        assert sum(Decimal(r["qty"]) for r in parts) == Decimal(agg["q"])
        assert all(Decimal(r["quoteQty"]) == Decimal(r["price"]) * Decimal(r["qty"]) for r in parts)
    recent = ex.fetch_trades("SOL/USDT", limit=5, params={"fetchTradesMethod": "publicGetTrades"})
    latest = ex.publicGetAggTrades({"symbol": "SOLUSDT", "limit": 1})[0]
    assert int(recent[-1]["id"]) == latest["l"] and len(recent) == 5
    assert ex.publicGetHistoricalTrades({"symbol": "SOLUSDT", "limit": 5}) == [
        t["info"] for t in recent
    ]


def test_the_first_trade_is_at_listing(exchange: ccxt.binance) -> None:
    first = exchange.publicGetAggTrades({"symbol": "SOLUSDT", "fromId": 0, "limit": 1})[0]
    listing = exchange.parse8601("2020-08-11T06:00:00Z")
    kline = exchange.publicGetKlines({"symbol": "SOLUSDT", "interval": "1m", "startTime": 0})[0]
    assert (first["a"], first["f"], first["T"], first["p"]) == (0, 0, listing, kline[1])


def test_time_windows_and_their_errors(clock: FakeClock) -> None:
    with Simulator(clock=clock, trades_per_minute=12) as sim:  # about 500 aggTrades an hour
        ex = make_exchange(sim.url)

        def agg(**params: Any) -> list[dict[str, Any]]:
            return ex.publicGetAggTrades({"symbol": "BNBUSDT", "limit": 1000, **params})

        hour = agg(startTime=MIDNIGHT, endTime=MIDNIGHT + HOUR)
        assert len(hour) < 1000 and hour[0]["T"] == MIDNIGHT and hour[-1]["T"] <= MIDNIGHT + HOUR
        assert agg(fromId=hour[-1]["a"] + 1, limit=1)[0]["T"] > MIDNIGHT + HOUR
        assert agg(startTime=MIDNIGHT) == hour  # startTime alone: the hour after it
        assert agg(endTime=MIDNIGHT + HOUR) == agg(startTime=MIDNIGHT, endTime=MIDNIGHT + HOUR)
        assert agg(startTime=MIDNIGHT, endTime=MIDNIGHT + HOUR, limit=7) == hour[:7]  # oldest
        with pytest.raises(ccxt.BadRequest, match="-1127"):
            agg(startTime=MIDNIGHT, endTime=MIDNIGHT + HOUR + 1)
        with pytest.raises(ccxt.BadRequest, match="-1128"):
            agg(fromId=5, startTime=MIDNIGHT)
        with pytest.raises(ccxt.BadRequest, match="-1128"):
            agg(fromId=5, endTime=MIDNIGHT)


def test_limits(sim: Simulator, http: requests.Session) -> None:
    def get(path: str, **params: Any) -> requests.Response:
        return http.get(f"{sim.url}/api/v3/{path}", params={"symbol": "BTCUSDT", **params})

    for path in ("aggTrades", "trades", "historicalTrades"):
        assert len(get(path).json()) == 500
        assert len(get(path, limit=5000).json()) == 1000  # capped, like Binance's spot API
        assert get(path, limit=0).json() == {
            "code": -1130,
            "msg": "Data sent for parameter 'limit' is not valid.",
        }
        assert get(path, symbol="NOPEUSDT").json()["code"] == -1121
    assert get("aggTrades", fromId=-1).json()["code"] == -1100
    assert get("aggTrades", startTime=10**19).json()["code"] == -1100  # beyond int64
    assert http.get(f"{sim.url}/api/v3/aggTrades").json()["code"] == -1102


def test_nothing_in_the_future_and_the_open_minute_so_far(
    exchange: ccxt.binance, clock: FakeClock
) -> None:
    minute = NOW_MS // MINUTE * MINUTE
    for _ in range(2):
        now = clock()
        latest = exchange.publicGetAggTrades({"symbol": "ETHUSDT", "limit": 1000})
        assert latest[-1]["T"] <= now
        after = {"symbol": "ETHUSDT", "fromId": latest[-1]["a"] + 1}
        assert exchange.publicGetAggTrades(after) == []
        so_far = exchange.publicGetAggTrades(
            {"symbol": "ETHUSDT", "startTime": minute, "limit": 1000}
        )
        assert so_far == [t for t in latest if t["T"] >= minute]
        assert _candles(so_far, MINUTE) == _klines(
            exchange, "ETHUSDT", "1m", minute, minute + MINUTE
        )
        assert exchange.publicGetAggTrades({"symbol": "ETHUSDT", "startTime": now + 1}) == []
        clock.advance(2_000)  # 58.789 s into the minute: more trades, a bigger candle
    assert exchange.publicGetAggTrades(after)[0]["a"] == after["fromId"]


def test_weights_and_statistics(sim: Simulator, http: requests.Session) -> None:
    used = []
    for path in ("aggTrades", "trades", "historicalTrades", "aggTrades"):
        response = http.get(f"{sim.url}/api/v3/{path}", params={"symbol": "BTCUSDT", "limit": 1})
        used.append(int(response.headers["X-MBX-USED-WEIGHT-1M"]))
    assert used == [4, 29, 54, 58]
    stats = sim.stats()
    assert (stats["agg_trades_requests"], stats["trades_requests"]) == (2, 1)
    assert stats["historical_trades_requests"] == 1 and stats["weight_used_total"] == 58


def test_faults_apply_to_trade_endpoints(sim: Simulator, exchange: ccxt.binance) -> None:
    def fetch() -> list:
        return exchange.fetch_trades("BTC/USDT", limit=5)

    sim.set_faults(Faults(error_rate=1.0, seed=1))
    with pytest.raises(ccxt.OperationFailed):
        fetch()
    sim.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(ccxt.NetworkError):
        fetch()
    sim.set_faults(Faults(storm_rate=1.0))
    with pytest.raises(ccxt.DDoSProtection):
        fetch()
    sim.set_faults(Faults(malformed_rate=1.0, seed=2))
    assert all(r == [] or any(t["price"] is None for t in r) for r in (fetch() for _ in range(8)))
    sim.set_faults(Faults(duplicate_rate=1.0, seed=3))
    ids = [t["id"] for t in fetch()]
    assert len(ids) == 5 and len(set(ids)) == 4
    faults = sim.stats()["faults_injected"]
    assert faults["drop"] == 1 and faults["storm"] == 1 and faults["duplicate"] == 1
    assert sum(v for k, v in faults.items() if k.startswith("malformed_")) == 8


def test_maintenance_hides_trades_and_leaves_a_stable_hole(
    sim: Simulator, exchange: ccxt.binance
) -> None:
    gap = (MIDNIGHT + 10 * MINUTE, MIDNIGHT + 70 * MINUTE)
    before = exchange.publicGetAggTrades({"symbol": "BTCUSDT", "startTime": gap[0] - 1_000})
    sim.set_faults(Faults(maintenance=(gap,)))
    hidden = {"symbol": "BTCUSDT", "fromId": before[-1]["a"], "limit": 3}
    resumed = exchange.publicGetAggTrades(hidden)
    assert resumed[0]["T"] == gap[1] and resumed[0]["a"] > before[-1]["a"] + 20_000
    assert exchange.publicGetAggTrades(hidden) == resumed  # the hole is confirmed, not random
    inside = {"symbol": "BTCUSDT", "startTime": gap[0], "endTime": gap[0] + HOUR - 1}
    assert exchange.publicGetAggTrades(inside) == []
    trades = _walk(exchange, "BTCUSDT", MIDNIGHT, MIDNIGHT + 2 * HOUR)
    assert _candles(trades, MINUTE) == _klines(
        exchange, "BTCUSDT", "1m", MIDNIGHT, MIDNIGHT + 2 * HOUR
    )
    assert len(_candles(trades, MINUTE)) == 60
