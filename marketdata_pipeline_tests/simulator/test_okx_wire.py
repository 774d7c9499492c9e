"""The OKX protocol on the wire: envelope, row format, after/before, windows, bars, errors."""

import json

import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator

from .conftest import DAY, HOUR, MINUTE, NOW_MS, okx_candles

H1 = NOW_MS // HOUR * HOUR  # opening of the in-progress hour


def test_rows_are_exact_newest_first_decimals(okx_sim: Simulator, http: requests.Session) -> None:
    answer = okx_candles(http, okx_sim.url, True, instId="BTC-USDT", bar="1H", after=H1 - HOUR)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(
        "application/json"
    )
    page = answer.json()
    assert (page["code"], page["msg"], len(page["data"])) == ("0", "", 100)  # 100 by default
    assert page["data"][:2] == [
        [
            "1710496800000",
            "43324.05",
            "43458.34",
            "43143.74",
            "43224.31",
            "1302.0078125",
            "56378428.9859375",
            "56378428.9859375",
            "1",
        ],
        [
            "1710493200000",
            "43344.99",
            "43418.82",
            "43226.7",
            "43324.05",
            "1479.640625",
            "64103652.45546875",
            "64103652.45546875",
            "1",
        ],
    ]
    assert [int(row[0]) for row in page["data"]] == [H1 - i * HOUR for i in range(2, 102)]


def test_after_and_before_are_exclusive(okx_sim: Simulator, http: requests.Session) -> None:
    def times(**params: int) -> list[int]:
        answer = okx_candles(http, okx_sim.url, instId="ETH-USDT", bar="1H", **params)
        return [int(row[0]) for row in answer.json()["data"]]

    assert times(after=H1 - 5 * HOUR, limit=2) == [H1 - 6 * HOUR, H1 - 7 * HOUR]
    assert times(after=H1 - 5 * HOUR + 1, limit=1) == [H1 - 5 * HOUR]
    assert times(before=H1 - 3 * HOUR) == [H1, H1 - HOUR, H1 - 2 * HOUR]
    assert times(before=H1 - 30 * HOUR, limit=2) == [H1, H1 - HOUR]  # before alone: the latest
    assert times(before=H1 - 4 * HOUR, after=H1 - HOUR) == [H1 - 2 * HOUR, H1 - 3 * HOUR]
    assert times(before=H1 - 4 * HOUR, after=H1 - 3 * HOUR) == []


def test_page_sizes(okx_sim: Simulator, http: requests.Session) -> None:
    def count(history: bool, **params: int) -> int:
        answer = okx_candles(http, okx_sim.url, history, instId="SOL-USDT", **params)
        return len(answer.json()["data"])

    assert [count(False), count(False, limit=1000), count(True, limit=301)] == [100, 300, 300]
    assert count(True, limit=7) == 7


def test_candles_serve_the_latest_1440_bars_history_the_completed_ones(
    okx_sim: Simulator, http: requests.Session
) -> None:
    oldest = NOW_MS // MINUTE * MINUTE - 1439 * MINUTE

    def times(history: bool, after: int) -> list[int]:
        answer = okx_candles(http, okx_sim.url, history, instId="BTC-USDT", after=after, limit=3)
        return [int(row[0]) for row in answer.json()["data"]]

    assert times(False, oldest + 2 * MINUTE) == [oldest + MINUTE, oldest]
    assert times(False, oldest) == []
    assert times(True, oldest) == [oldest - MINUTE, oldest - 2 * MINUTE, oldest - 3 * MINUTE]
    assert times(True, NOW_MS + DAY) == [oldest + (1438 - i) * MINUTE for i in range(3)]
    listing = 1_597_104_000_000  # 2020-08-11T00:00Z: the day SOL/USDT was listed
    first = okx_candles(
        http, okx_sim.url, True, instId="SOL-USDT", bar="1Dutc", after=listing + DAY + 1
    )
    assert [row[0] for row in first.json()["data"]] == [str(listing + DAY), str(listing)]
    assert okx_candles(http, okx_sim.url, True, instId="SOL-USDT", after=listing).json() == {
        "code": "0",
        "msg": "",
        "data": [],
    }


def test_bars_open_at_utc_or_hong_kong_midnight(okx_sim: Simulator, http: requests.Session) -> None:
    def rows(bar: str, limit: int) -> list[list[str]]:
        answer = okx_candles(http, okx_sim.url, instId="XRP-USDT", bar=bar, limit=limit)
        return answer.json()["data"]

    day = NOW_MS // DAY * DAY
    assert [int(r[0]) for r in rows("1Dutc", 2)] == [day, day - DAY]
    assert [int(r[0]) for r in rows("1D", 2)] == [day - 8 * HOUR, day - 8 * HOUR - DAY]
    assert [int(r[0]) for r in rows("6H", 1)] == [day + 10 * HOUR]  # 18:00 in Hong Kong
    assert [int(r[0]) for r in rows("1Wutc", 1)] == [day - 4 * DAY]  # Monday 2024-03-11
    assert [int(r[0]) for r in rows("1W", 1)] == [day - 4 * DAY - 8 * HOUR]
    assert [int(r[0]) for r in rows("1Mutc", 1)] == [1_709_251_200_000]  # 2024-03-01
    hours = rows("1H", 45)[21:]  # the 24 hours of Hong Kong's 14 March, newest first
    (hong_kong_day,) = [r for r in rows("1D", 2) if int(r[0]) == day - 8 * HOUR - DAY]
    assert int(hours[-1][0]) == int(hong_kong_day[0])
    assert hong_kong_day[1] == hours[-1][1] and hong_kong_day[4] == hours[0][4]
    assert float(hong_kong_day[2]) == max(float(r[2]) for r in hours)
    assert sum(float(r[5]) for r in hours) == float(hong_kong_day[5])


@pytest.mark.parametrize(
    ("path", "params", "status", "body"),
    [
        ("market/candles", {}, 400, ["50014", "Parameter instId can not be empty."]),
        ("market/candles", {"instId": "NOPE-USDT"}, 200, ["51001", None]),
        ("market/candles", {"instId": "BTC-USDT", "bar": "1h"}, 400, ["51000", None]),
        ("market/candles", {"instId": "BTC-USDT", "bar": "1s"}, 400, ["51000", None]),
        ("market/history-candles", {"instId": "BTC-USDT", "after": "x"}, 400, ["51000", None]),
        ("market/candles", {"instId": "BTC-USDT", "limit": "0"}, 400, ["51000", None]),
        ("public/instruments", {}, 400, ["50014", "Parameter instType can not be empty."]),
        ("public/instruments", {"instType": "spot"}, 400, ["51000", "Parameter instType error"]),
        ("public/instruments", {"instType": "SPOT", "instId": "BTCUSDT"}, 200, ["51001", None]),
        ("market/tickers", {"instType": "SPOT"}, 404, ["50005", None]),
    ],
)
def test_errors(
    okx_sim: Simulator, http: requests.Session, path: str, params: dict, status: int, body: list
) -> None:
    answer = http.get(f"{okx_sim.url}/api/v5/{path}", params=params)
    doc = answer.json()
    assert answer.status_code == status and doc["code"] == body[0] and doc["data"] == []
    assert body[1] in (None, doc["msg"])


def test_time_and_instruments(okx_sim: Simulator, http: requests.Session) -> None:
    assert http.get(f"{okx_sim.url}/api/v5/public/time").text == (
        '{"code":"0","msg":"","data":[{"ts":"1710506096789"}]}'
    )
    url = f"{okx_sim.url}/api/v5/public/instruments"
    spot = http.get(url, params={"instType": "SPOT"}).json()["data"]
    assert [i["instId"] for i in spot] == [
        f"{b}-USDT" for b in ("BTC", "ETH", "BNB", "XRP", "SOL", "SHIB")
    ]
    shib = spot[-1]
    assert {k: shib[k] for k in ("baseCcy", "quoteCcy", "state", "tickSz", "lotSz", "minSz")} == {
        "baseCcy": "SHIB",
        "quoteCcy": "USDT",
        "state": "live",
        "tickSz": "0.00000001",
        "lotSz": "1",
        "minSz": "1",
    }
    assert shib["listTime"] == "1620644400000" and shib["instType"] == "SPOT"
    assert http.get(url, params={"instType": "SWAP"}).json()["data"] == []


def test_maintenance_gaps_are_skipped_and_the_page_filled(
    okx_sim: Simulator, http: requests.Session
) -> None:
    gap = (H1 - 5 * HOUR, H1 - 3 * HOUR)
    okx_sim.set_faults(Faults(maintenance=(gap,)))
    answer = okx_candles(http, okx_sim.url, instId="BNB-USDT", bar="1H", after=H1, limit=4)
    times = [int(row[0]) for row in answer.json()["data"]]
    assert times == [H1 - HOUR, H1 - 2 * HOUR, H1 - 3 * HOUR, H1 - 6 * HOUR]
    inside = okx_candles(
        http, okx_sim.url, instId="BNB-USDT", bar="1H", before=gap[0] - 1, after=gap[1]
    )
    assert json.loads(inside.text)["data"] == []
