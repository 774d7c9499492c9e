"""The order book model and ``GET /api/v3/depth`` through the unmodified ccxt binance class."""

from itertools import pairwise

import ccxt
import numpy as np
import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator
from marketdata_pipeline.simulator.book import (
    UPDATES_PER_AGG,
    Book,
    book_at,
    book_at_time,
    update_id_at,
)
from marketdata_pipeline.simulator.symbols import make_specs
from marketdata_pipeline.simulator.trade_pages import select_agg_trades, select_raw_trades
from marketdata_pipeline.simulator.trades import minute_so_far

from .conftest import DAY, HOUR, MINUTE, NOW_MS, FakeClock

SPECS = make_specs()
BTC = SPECS["BTCUSDT"]


def _same(a: Book, b: Book) -> bool:
    columns = ("bid_price", "bid_qty", "ask_price", "ask_qty")
    return a.update_id == b.update_id and all(
        np.array_equal(getattr(a, c), getattr(b, c)) for c in columns
    )


@pytest.mark.parametrize("market", sorted(SPECS))
def test_books_are_ordered_uncrossed_and_around_the_last_trade(market: str) -> None:
    spec = SPECS[market]
    for now in (NOW_MS, NOW_MS - 7 * DAY + 1_234, NOW_MS // MINUTE * MINUTE, NOW_MS + 3 * HOUR):
        book = book_at_time(spec, now)
        assert np.all(np.diff(book.bid_price) < 0) and np.all(np.diff(book.ask_price) > 0)
        assert book.bid_price[-1] >= 1 and book.bid_price[0] < book.ask_price[0]
        assert book.bid_qty.min() >= 1 and book.ask_qty.min() >= 1  # whole volume quanta
        assert len(book.ask_price) == 5_000
        # SHIB trades near 2000 ticks: its bids fill every tick down to one tick, then stop.
        assert len(book.bid_price) == min(5_000, int(book.bid_price[0]))
        (last,) = select_raw_trades(spec, None, 1, now).price
        assert book.bid_price[0] <= last <= book.ask_price[0]
        assert book.ask_price[0] - book.bid_price[0] <= 4
        minute = minute_so_far(spec, now // MINUTE, now)
        mid = (book.bid_price[0] + book.ask_price[0]) / 2
        assert minute.low[0] - 4 <= mid <= minute.high[0] + 4


def test_update_ids_follow_time_and_name_one_book() -> None:
    times = [NOW_MS - 2 * MINUTE + i * 700 for i in range(400)]
    ids = [update_id_at(BTC, t) for t in times]
    assert all(a <= b for a, b in pairwise(ids)) and ids[-1] > ids[0]
    for t, update_id in list(zip(times, ids, strict=True))[::37]:
        served = book_at_time(BTC, t, 300)
        assert _same(served, book_at(BTC, update_id, 300, now_ms=times[-1]))
        assert _same(served, book_at(BTC, update_id, 300, now_ms=t))
    # The id names the last aggTrade: 16 per aggTrade, plus a refresh per second since it.
    (last,) = select_agg_trades(BTC, None, None, 1, NOW_MS).id
    (last_time,) = select_agg_trades(BTC, None, None, 1, NOW_MS).time
    refreshes = min(15, (NOW_MS - last_time) // 1_000)
    assert update_id_at(BTC, NOW_MS) == (last + 1) * UPDATES_PER_AGG + refreshes
    with pytest.raises(ValueError, match="not served"):
        book_at(BTC, update_id_at(BTC, NOW_MS) + UPDATES_PER_AGG, now_ms=NOW_MS)


def test_a_quiet_market_refreshes_each_second_then_holds() -> None:
    spec = make_specs({"QUIET/USDT": {"listing": "2024-03-01", "price": 10.0}}, 12)["QUIETUSDT"]
    minute = NOW_MS // MINUTE * MINUTE
    ids = [update_id_at(spec, minute + ms) for ms in range(0, MINUTE, 250)]
    steps = {b - a for a, b in pairwise(ids)}
    assert 0 in steps and 1 in steps and max(steps) >= UPDATES_PER_AGG
    books = [book_at_time(spec, minute + ms, 20) for ms in range(0, MINUTE, 250)]
    for (a, b), (x, y) in zip(pairwise(ids), pairwise(books), strict=True):
        assert _same(x, y) == (a == b)  # the id changes exactly when the book does


def test_shallower_books_are_prefixes_and_levels_persist() -> None:
    spec = SPECS["ETHUSDT"]
    deep = book_at_time(spec, NOW_MS, 5_000)
    for limit in (1, 5, 100, 1_000):
        shallow = book_at_time(spec, NOW_MS, limit)
        assert np.array_equal(shallow.bid_price, deep.bid_price[:limit])
        assert np.array_equal(shallow.ask_qty, deep.ask_qty[:limit])
    # A level is redrawn once every 4096 ids: a second later most are unchanged, not all.
    later = book_at_time(spec, NOW_MS + 1_000, 5_000)
    assert later.update_id > deep.update_id
    kept = np.intersect1d(
        np.stack([deep.ask_price, deep.ask_qty], axis=1).view("i8,i8"),
        np.stack([later.ask_price, later.ask_qty], axis=1).view("i8,i8"),
    )
    assert 0.9 * 5_000 < len(kept) < 5_000


def test_depth_over_ccxt_is_the_book_of_its_update_id(
    sim: Simulator, exchange: ccxt.binance, clock: FakeClock
) -> None:
    used, seen = [], []
    for limit, levels in ((5, 5), (100, 100), (101, 101), (500, 500), (501, 501), (1_000, 1_000),
                          (1_001, 1_001), (5_000, 5_000), (6_000, 5_000)):  # fmt: skip
        sim.reset_stats()  # a fresh weight window: the header shows this request alone
        book = exchange.fetch_order_book("BTC/USDT", limit)
        used.append(int(exchange.last_response_headers["X-MBX-USED-WEIGHT-1M"]))
        expected = book_at(BTC, book["nonce"], levels, now_ms=clock.now_ms).to_ccxt(BTC)
        assert {k: book[k] for k in ("nonce", "bids", "asks")} == expected
        seen.append(book["nonce"])
        clock.advance(1_700)
    assert used == [5, 5, 25, 25, 50, 50, 250, 250, 250]
    assert all(a < b for a, b in pairwise(seen))
    default = exchange.fetch_order_book("SOL/USDT")
    assert len(default["bids"]) == len(default["asks"]) == 100
    assert sim.stats()["depth_requests"] == 2 and sim.stats()["weight_used_total"] == 255


def test_depth_wire_format_is_exact(sim: Simulator, http: requests.Session) -> None:
    response = http.get(f"{sim.url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 2})
    assert response.text == (
        '{"lastUpdateId":23242062032,'
        '"bids":[["42959.75000000","1.25390625"],["42959.53000000","0.13281250"]],'
        '"asks":[["42959.76000000","0.16406250"],["42959.90000000","0.25390625"]]}'
    )
    (last,) = http.get(f"{sim.url}/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 1}).json()
    assert last["price"] == "42959.76000000" and not last["isBuyerMaker"]  # a taker buy at the ask


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": "NOPEUSDT"}, -1121),
        ({}, -1102),
        ({"symbol": "BTCUSDT", "limit": 0}, -1130),
        ({"symbol": "BTCUSDT", "limit": "ten"}, -1100),
    ],
)
def test_depth_errors(sim: Simulator, http: requests.Session, params: dict, code: int) -> None:
    response = http.get(f"{sim.url}/api/v3/depth", params=params)
    assert response.status_code == 400 and response.json()["code"] == code


def test_faults_apply_to_depth(sim: Simulator, exchange: ccxt.binance) -> None:
    sim.set_faults(Faults(error_rate=1.0, seed=1))
    with pytest.raises(ccxt.OperationFailed):
        exchange.fetch_order_book("BTC/USDT", 5)
    sim.set_faults(Faults(storm_rate=1.0))
    with pytest.raises(ccxt.DDoSProtection):
        exchange.fetch_order_book("BTC/USDT", 5)
    sim.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(ccxt.NetworkError):
        exchange.fetch_order_book("BTC/USDT", 5)
    sim.set_faults(Faults(malformed_rate=1.0, seed=2))
    for _ in range(6):  # truncated and garbage bodies: ccxt returns an empty book, no error
        book = exchange.fetch_order_book("BTC/USDT", 5)
        assert book["bids"] == book["asks"] == [] and book["nonce"] is None
    stats = sim.stats()
    assert stats["depth_requests"] == 9 and stats["status_counts"]["dropped"] == 1
    kinds = {kind.split("_")[0] for kind in stats["faults_injected"]}
    assert kinds == {"http", "storm", "drop", "malformed"}
