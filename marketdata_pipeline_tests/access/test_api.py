"""The HTTP API against a real store filled through the pipeline, and `marketdata serve`."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import polars as pl
import pytest
import yaml
from fastapi.testclient import TestClient

from marketdata_pipeline.access.api import MAX_LIMIT, create_app
from marketdata_pipeline.books.layout import snapshot_rows
from marketdata_pipeline.config import load_config
from marketdata_pipeline.indicators.formulas import INDICATOR_COLUMNS
from marketdata_pipeline.storage.schema import INDICATORS, ORDER_BOOKS, TRADE_CANDLES
from marketdata_pipeline.storage.store import store_for

from ..conftest import day_key, free_port, market, marketdata
from .test_books import booked, btc_book, stored_order
from .test_market_data import traded

__all__ = ["booked", "traded"]  # trades, trade candles, books and tickers written to the store

BTC = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1m"}


@pytest.fixture
def filled(make_project):
    """BTC/USDT kept current (yesterday and today); ETH/USDT stored for one old day only."""
    project = make_project([market(), market("ETH/USDT")])
    project.materialize(project.series(), day_key(1), day_key(0))
    project.materialize(project.series("ETH/USDT"), day_key(2))
    return project


@pytest.fixture
def client(filled):
    return TestClient(create_app(filled.config))


def pages(client: TestClient, path: str, **params) -> list[dict]:
    """Every page of a query, following `next` links."""
    answers = [client.get(path, params=params).json()]
    while answers[-1]["next"]:
        answers.append(client.get(answers[-1]["next"]).json())
    return answers


def test_series_lists_every_configured_series_with_its_stored_range(client):
    listed = {s["symbol"]: s for s in client.get("/series").json()}
    eth = listed["ETH/USDT"]
    assert (eth["first"], eth["last"]) == (f"{day_key(2)}T00:00:00Z", f"{day_key(2)}T23:59:00Z")
    assert eth["rows"] == eth["indicator_rows"] == 1440
    assert eth["series"] == "binance/eth_usdt/1m" and eth["timeframe"] == "1m"
    assert listed["BTC/USDT"]["rows"] > 1440


@pytest.mark.parametrize(("path", "library"), [("/candles", None), ("/indicators", INDICATORS)])
def test_paging_returns_the_whole_range_once(client, filled, path, library):
    query = {**BTC, "symbol": "btc/usdt", "start": day_key(1), "end": day_key(0), "limit": 500}
    answers = pages(client, path, **query)
    assert [a["count"] for a in answers] == [500, 500, 440]
    assert all(a["series"] == "binance/btc_usdt/1m" for a in answers)
    assert (
        answers[0]["next_after"] == f"{day_key(1)}T08:19:00Z" and answers[-1]["next_after"] is None
    )
    rows = [row for a in answers for row in a["rows"]]
    times = [r["open_time"] for r in rows]
    assert len(set(times)) == len(times) == 1440 and times == sorted(times)
    series = filled.series()
    stored = filled.store.read(series, library=library or "candles")
    expected = stored.filter(pl.col("open_time").dt.date().cast(pl.String) == day_key(1))
    assert pl.DataFrame(rows).drop("open_time").equals(expected.drop("open_time"))


def test_rows_carry_iso_times_and_every_column(client):
    window = {**BTC, "start": f"{day_key(2)}T10:00", "end": f"{day_key(2)}T10:03"}
    assert client.get("/candles", params=window).json()["count"] == 0  # BTC has no day_key(2)
    window = {**window, "symbol": "ETH/USDT"}
    candles = client.get("/candles", params=window).json()
    assert [r["open_time"] for r in candles["rows"]] == [
        f"{day_key(2)}T10:00:00Z",
        f"{day_key(2)}T10:01:00Z",
        f"{day_key(2)}T10:02:00Z",
    ]
    assert set(candles["rows"][0]) == {
        "open_time",
        *("open", "high", "low", "close", "volume", "quote_volume", "trades"),
    }
    assert candles["next"] is None
    indicators = client.get("/indicators", params=window).json()["rows"]
    assert set(indicators[0]) == {"open_time", *INDICATOR_COLUMNS}
    assert all(isinstance(indicators[-1][c], float) for c in INDICATOR_COLUMNS)


def test_pages_are_bounded_by_limit_and_after(client):
    whole = client.get("/candles", params={**BTC, "limit": MAX_LIMIT}).json()
    assert whole["count"] <= MAX_LIMIT and whole["next"] is None
    default = client.get("/candles", params=BTC).json()
    assert default["count"] == 1000 and default["next_after"] == default["rows"][-1]["open_time"]
    after = client.get(
        "/candles", params={**BTC, "limit": 2, "after": f"{day_key(1)}T23:58"}
    ).json()
    assert [r["open_time"] for r in after["rows"]] == [
        f"{day_key(1)}T23:59:00Z",
        f"{day_key(0)}T00:00:00Z",
    ]


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"exchange": "kraken"}, 404, "no configured series kraken BTC/USDT 1m; see /series"),
        ({"symbol": "DOGE/USDT"}, 404, "no configured series binance DOGE/USDT 1m; see /series"),
        ({"timeframe": "1h"}, 404, "no configured series binance BTC/USDT 1h; see /series"),
        ({"timeframe": "2h"}, 400, "unknown timeframe '2h'; allowed: 1m, 5m, 15m, 30m, 1h"),
        ({"start": "2024-02-30"}, 400, "start: invalid date '2024-02-30'; use YYYY-MM-DD"),
        ({"end": "yesterday"}, 400, "end: invalid date 'yesterday'; use YYYY-MM-DD"),
        ({"after": "x"}, 400, "after: invalid date 'x'"),
        (
            {"start": "2024-01-02", "end": "2024-01-01"},
            400,
            "start 2024-01-02 is not before end 2024-01-01; start is inclusive, end exclusive",
        ),
        ({"limit": 0}, 422, "limit: Input should be greater than or equal to 1"),
        ({"limit": MAX_LIMIT + 1}, 422, "limit: Input should be less than or equal to 10000"),
        ({"limit": "many"}, 422, "limit: Input should be a valid integer"),
        ({"symbol": None}, 422, "symbol: Field required"),
        ({"limt": 5}, 422, "limt: Extra inputs are not permitted"),
    ],
)
@pytest.mark.parametrize("path", ["/candles", "/indicators"])
def test_bad_parameters_get_a_one_line_detail(make_project, path, params, status, detail):
    client = TestClient(create_app(make_project().config))
    query = {k: v for k, v in {**BTC, **params}.items() if v is not None}
    answer = client.get(path, params=query)
    assert answer.status_code == status
    assert answer.json()["detail"].startswith(detail) and "\n" not in answer.json()["detail"]


def test_trade_pages_follow_the_cursor_inside_a_millisecond(traded):
    client = TestClient(create_app(traded.config))
    query = {"exchange": "binance", "symbol": "btc/usdt", "start": day_key(2), "limit": 3}
    answers = pages(client, "/trades", **query, end=f"{day_key(2)}T00:00:05")
    assert [a["count"] for a in answers] == [3, 3, 3, 1]
    assert [a["next_after"] for a in answers] == [
        f"1002@{day_key(2)}T00:00:01.000Z",
        f"1005@{day_key(2)}T00:00:02.000Z",
        f"1008@{day_key(2)}T00:00:04.000Z",
        None,
    ]
    assert [r["id"] for a in answers for r in a["rows"]] == list(range(1000, 1010))
    assert answers[0]["rows"][2] == {
        "timestamp": f"{day_key(2)}T00:00:01.000Z",
        **{"id": 1002, "price": 50_001.0, "amount": 0.003, "cost": 50_001.0 * 0.003},
        **{"side": "sell", "first_trade_id": 10_020, "last_trade_id": 10_022},
    }
    assert answers[0]["series"] == "binance/btc_usdt/trades"
    whole = pages(client, "/trades", exchange="binance", symbol="BTC/USDT", limit=MAX_LIMIT)
    assert [a["count"] for a in whole] == [10_000, 10_000, 1480]


def test_candles_from_trades_page_like_candles(traded):
    client = TestClient(create_app(traded.config))
    query = {**BTC, "from_trades": "true", "start": f"{day_key(2)}T02:00", "limit": 25}
    answers = pages(client, "/candles", **query)
    assert [a["count"] for a in answers] == [25, 25, 10]
    rows = [r for a in answers for r in a["rows"]]
    stored = store_for(traded.config).read(traded.series(), library=TRADE_CANDLES).tail(60)
    assert [r["trades"] for r in rows] == stored["trades"].to_list()
    assert rows[30] == {
        "open_time": f"{day_key(2)}T02:30:00Z",
        **dict.fromkeys(("open", "high", "low", "close")),
        **dict.fromkeys(("volume", "quote_volume", "taker_buy_volume"), 0.0),
        **{"taker_buy_quote_volume": 0.0, "trades": 0},
    }
    exchange = client.get("/candles", params={**BTC, "start": day_key(2)}).json()
    assert exchange["count"] == 0  # the exchange's own candles: none stored


def test_series_and_freshness_list_the_trade_series(traded):
    client = TestClient(create_app(traded.config))
    listed = {s["series"]: s for s in client.get("/series").json()}
    assert listed["binance/btc_usdt/trades"] == {
        "series": "binance/btc_usdt/trades",
        **{"exchange": "binance", "symbol": "BTC/USDT", "timeframe": None, "data": "trades"},
        "start": str(traded.series().start),
        "first": f"{day_key(2)}T00:00:00Z",
        "last": f"{day_key(2)}T02:59:59Z",
        **{"rows": 3 * 7200 - 120, "indicator_rows": None, "trade_candle_rows": None},
        "metric_rows": None,
    }
    assert listed["binance/btc_usdt/1m"]["trade_candle_rows"] == 180
    assert listed["binance/btc_usdt/1h"]["trade_candle_rows"] == 3
    assert listed["binance/sol_usdt/1m"]["trade_candle_rows"] is None
    fresh = {s["series"]: s for s in client.get("/freshness").json()}
    eth = fresh["binance/eth_usdt/trades"]
    assert (eth["last"], eth["stale"], eth["tolerance_seconds"]) == (
        f"{day_key(2)}T00:59:59Z",
        True,
        2 * 60 + 120,
    )
    assert eth["lag_seconds"] > 86_400


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        (
            {"symbol": "SOL/USDT"},
            404,
            "binance SOL/USDT collects no trades; set `trades: true` on"
            " exchanges[binance].markets[SOL/USDT] in ",
        ),
        ({"exchange": "kraken"}, 404, "no configured market kraken BTC/USDT; see /series"),
        ({"after": "x"}, 400, "after: 'x' is not a cursor; pass `next_after` of the previous"),
        ({"after": "7@2024-02-30"}, 400, "after: '7@2024-02-30' is not a cursor"),
        ({"start": "soon"}, 400, "start: invalid date 'soon'; use YYYY-MM-DD"),
        ({"start": "2024-01-02", "end": "2024-01-01"}, 400, "start 2024-01-02 is not before end"),
        ({"limit": MAX_LIMIT + 1}, 422, "limit: Input should be less than or equal to 10000"),
        ({"timeframe": "1m"}, 422, "timeframe: Extra inputs are not permitted"),
    ],
)
def test_bad_trade_parameters_get_a_one_line_detail(traded, params, status, detail):
    client = TestClient(create_app(traded.config))
    answer = client.get("/trades", params={"exchange": "binance", "symbol": "BTC/USDT", **params})
    assert answer.status_code == status
    assert answer.json()["detail"].startswith(detail) and "\n" not in answer.json()["detail"]
    if params.get("symbol") == "SOL/USDT":
        candles = client.get("/candles", params={**BTC, **params, "from_trades": True})
        assert (candles.status_code, candles.json()) == (404, answer.json())


def test_book_pages_follow_the_receive_time_with_the_levels_and_metrics_asked_for(booked):
    client = TestClient(create_app(booked.config))
    query = {"exchange": "binance", "symbol": "btc/usdt", "limit": 5, "depth": 1}
    answers = pages(client, "/order_books", **query, metrics="true")
    assert [a["count"] for a in answers] == [5, 5, 2]
    assert [a["next_after"] for a in answers] == [
        f"{day_key(2)}T00:00:40.007Z",
        f"{day_key(2)}T00:01:30.007Z",
        None,
    ]
    assert answers[0]["series"] == "binance/btc_usdt/order_book"
    rows = [r for a in answers for r in a["rows"]]
    assert [r["update_id"] for r in rows] == list(range(100, 112))
    first = rows[0]
    assert list(first)[:7] == [
        *("local_timestamp", "timestamp", "update_id"),
        *("bid_price_0", "bid_amount_0", "ask_price_0", "ask_amount_0"),
    ]
    assert {k: first[k] for k in list(first)[:9]} == {
        **{"local_timestamp": f"{day_key(2)}T00:00:00.007Z", "timestamp": None, "update_id": 100},
        **{"bid_price_0": 99.5, "bid_amount_0": 1.0, "ask_price_0": 100.5, "ask_amount_0": 1.5},
        **{"mid": 100.0, "spread": 1.0},
    }
    assert [r["mid"] for r in rows[5:7]] == [105.0, None]  # computed for the first minute only
    levels = client.get("/order_books", params={**query, "depth": 3, "limit": 1}).json()
    assert levels["rows"][0]["bid_price_2"] == 98.5 and "mid" not in levels["rows"][0]


def test_ticker_pages(booked):
    client = TestClient(create_app(booked.config))
    query = {
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "start": f"{day_key(2)}T00:01",
        "limit": 4,
    }
    answers = pages(client, "/tickers", **query)
    assert [a["count"] for a in answers] == [4, 2]
    assert [r["last"] for a in answers for r in a["rows"]] == [106.0 + k for k in range(6)]
    assert answers[0]["rows"][0]["timestamp"] == f"{day_key(2)}T00:01:00.007Z"


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        (
            "/order_books",
            {"symbol": "SOL/USDT"},
            404,
            "binance SOL/USDT collects no order book; set `order_book: {depth: 20,",
        ),
        ("/tickers", {"symbol": "SOL/USDT"}, 404, "binance SOL/USDT collects no ticker; set `ti"),
        ("/tickers", {"exchange": "kraken"}, 404, "no configured market kraken BTC/USDT; see"),
        (
            "/order_books",
            {"depth": 4},
            400,
            "depth 4: binance BTC/USDT keeps 3 levels per side; ask for 0 to 3",
        ),
        ("/order_books", {"depth": -1}, 422, "depth: Input should be greater than or equal to 0"),
        (
            "/order_books",
            {"after": "7@2024-01-01"},
            400,
            "after: '7@2024-01-01' is not a cursor; pass `next_after` of the previous page (an"
            " ISO time)",
        ),
        ("/tickers", {"after": "soon"}, 400, "after: 'soon' is not a cursor"),
        ("/tickers", {"start": "2024-01-02", "end": "2024-01-01"}, 400, "start 2024-01-02 is"),
        ("/tickers", {"limit": MAX_LIMIT + 1}, 422, "limit: Input should be less than or equal"),
        ("/tickers", {"depth": 1}, 422, "depth: Extra inputs are not permitted"),
    ],
)
def test_bad_book_and_ticker_parameters_get_a_one_line_detail(booked, path, params, status, detail):
    client = TestClient(create_app(booked.config))
    answer = client.get(path, params={"exchange": "binance", "symbol": "BTC/USDT", **params})
    assert answer.status_code == status
    assert answer.json()["detail"].startswith(detail) and "\n" not in answer.json()["detail"]


def test_series_and_freshness_list_books_and_tickers(booked):
    eth = next(s for s in booked.config.polled_series if s.name == "binance/eth_usdt/order_book")
    now = int(time.time() * 1000)
    recent = stored_order(snapshot_rows([btc_book(0)], 2, now - 2000))  # every 10 s: fresh
    booked.store.write(eth, recent, now - 2000, now - 1999, ORDER_BOOKS)
    client = TestClient(create_app(booked.config))
    listed = {s["series"]: s for s in client.get("/series").json()}
    assert listed["binance/btc_usdt/order_book"] == {
        "series": "binance/btc_usdt/order_book",
        **{"exchange": "binance", "symbol": "BTC/USDT", "timeframe": None, "data": "order_book"},
        "start": str(eth.start),
        "first": f"{day_key(2)}T00:00:00Z",
        "last": f"{day_key(2)}T00:01:50Z",
        **{"rows": 12, "indicator_rows": None, "trade_candle_rows": None, "metric_rows": 6},
    }
    assert listed["binance/btc_usdt/ticker"]["rows"] == 12
    assert listed["binance/btc_usdt/ticker"]["metric_rows"] is None
    fresh = {s["series"]: s for s in client.get("/freshness").json()}
    btc, eth = fresh["binance/btc_usdt/order_book"], fresh["binance/eth_usdt/order_book"]
    assert (btc["last"], btc["stale"], btc["tolerance_seconds"]) == (
        f"{day_key(2)}T00:01:50Z",
        True,
        30.0,
    )
    assert btc["lag_seconds"] > 86_400
    assert (eth["stale"], eth["tolerance_seconds"]) == (False, 30.0) and eth["lag_seconds"] >= 2
    assert fresh["binance/sol_usdt/1m"]["tolerance_seconds"] == 2 * 60 + 120


def test_freshness_tells_current_series_from_stale_ones(client):
    minute = int(time.time()) // 60 * 60
    report = {s["symbol"]: s for s in client.get("/freshness").json()}
    btc, eth = report["BTC/USDT"], report["ETH/USDT"]
    assert btc["stale"] is False and btc["lag_seconds"] in (0, 60, 120)  # see test_sensors
    assert btc["tolerance_seconds"] == 2 * 60 + 120
    assert btc["expected_last"] in (_iso(minute - 60), _iso(minute))  # a minute may turn
    assert eth["stale"] is True and eth["lag_seconds"] > 86_400
    assert eth["last"] == f"{day_key(2)}T23:59:00Z"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_never_stored_series_is_stale(make_project):
    client = TestClient(create_app(make_project().config))
    (only,) = client.get("/freshness").json()
    assert (only["last"], only["stale"]) == (None, True)
    assert only["lag_seconds"] > 45 * 86_400  # behind since the configured start


def test_health_reports_storage_and_each_exchanges_last_request(client, filled):
    before = time.time()
    answer = client.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["storage_reachable"] is True
    (binance,) = body["exchanges"]
    assert binance["exchange"] == "binance"
    last = datetime.fromisoformat(binance["last_request"]).timestamp()
    assert before - 300 < last <= before
    assert binance["newest_candle"] == client.get("/series").json()[0]["last"]
    assert client.get("/docs").status_code == 200
    assert "/candles" in client.get("/openapi.json").json()["paths"]


def test_health_stays_200_and_ready_is_503_naming_storage_when_it_is_unreachable(
    make_project, tmp_path
):
    path = make_project().config.path
    body = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({"storage": "lmdb:///proc/no-such-dir/db", **body}))
    client = TestClient(create_app(load_config(path)))
    answer = client.get("/health")  # liveness: the process answers
    assert answer.status_code == 200
    assert answer.json()["storage_reachable"] is False
    assert answer.json()["exchanges"][0]["last_request"] is None
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert "storage" in ready.json()["failed"]


def test_serve_runs_uvicorn_answering_health(make_project, tmp_path):
    make_project()
    port = free_port()
    server = marketdata("serve", "--port", str(port), cwd=tmp_path, wait=False)
    try:
        answer = _wait_for(f"http://127.0.0.1:{port}/health", server)
        assert json.loads(answer)["status"] == "ok"
    finally:
        server.terminate()
        server.wait(10)


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 60) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.read()
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s")
