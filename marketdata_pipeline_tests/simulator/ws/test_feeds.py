"""Streams equal what REST serves: trades, closed klines, books rebuilt from diffs, tickers."""

from __future__ import annotations

import itertools
import json
from typing import Any

import requests

from marketdata_pipeline.simulator import Faults, Simulator
from marketdata_pipeline.simulator.book import book_at, book_at_time
from marketdata_pipeline.simulator.intervals import MINUTE_MS
from marketdata_pipeline.simulator.symbols import make_specs
from marketdata_pipeline.simulator.ticker import ticker
from marketdata_pipeline.simulator.trade_ids import first_ids
from marketdata_pipeline.simulator.ws.feeds import DIFF_DEPTH, DepthFeed, KlineFeed

from .conftest import RawClient, run_client


def _spec(sim: Simulator, market_id: str = "BTCUSDT") -> Any:
    return sim._state.specs[market_id]


def _stream(sim: Simulator, streams: list[str], enough) -> list[Any]:
    async def body(client: RawClient) -> list[Any]:
        assert await client.request("SUBSCRIBE", streams) == {"result": None, "id": 1}
        return await client.events_until(enough)

    return run_client(sim.ws_url, body)


def test_streamed_trades_equal_rest_trades_id_for_id(fast_sim: Simulator) -> None:
    subscribed = fast_sim.now_ms()
    events = _stream(
        fast_sim,
        ["btcusdt@aggTrade", "btcusdt@trade"],
        lambda got: sum(e["e"] == "trade" for e in got) >= 300,
    )
    aggs = [e for e in events if e["e"] == "aggTrade"]
    raws = [e for e in events if e["e"] == "trade"]
    agg_ids, raw_ids = [e["a"] for e in aggs], [e["t"] for e in raws]
    assert agg_ids == list(range(agg_ids[0], agg_ids[0] + len(aggs)))  # contiguous, in order
    assert raw_ids == list(range(raw_ids[0], raw_ids[0] + len(raws)))
    assert all(e["E"] >= e["T"] and e["s"] == "BTCUSDT" for e in events)
    assert aggs[0]["T"] > subscribed and raws[0]["T"] > subscribed  # only trades from then on
    url = fast_sim.url + "/api/v3"
    rest_aggs = requests.get(
        f"{url}/aggTrades", params={"symbol": "BTCUSDT", "fromId": agg_ids[0], "limit": len(aggs)}
    ).json()
    assert [{k: e[k] for k in ("a", "p", "q", "f", "l", "T", "m", "M")} for e in aggs] == rest_aggs
    rest_raws = requests.get(
        f"{url}/historicalTrades",
        params={"symbol": "BTCUSDT", "fromId": raw_ids[0], "limit": len(raws)},
    ).json()
    assert [
        {"id": e["t"], "price": e["p"], "qty": e["q"], "time": e["T"], "isBuyerMaker": e["m"]}
        for e in raws
    ] == [{k: r[k] for k in ("id", "price", "qty", "time", "isBuyerMaker")} for r in rest_raws]


def test_a_maintenance_gap_is_the_same_hole_in_streamed_and_rest_ids() -> None:
    with Simulator(speed=120) as sim:
        spec = _spec(sim)
        gap_minute = sim.now_ms() // MINUTE_MS + 2
        sim.set_faults(
            Faults(maintenance=((gap_minute * MINUTE_MS, (gap_minute + 1) * MINUTE_MS),))
        )
        after_gap = first_ids(spec, gap_minute + 1)[1]
        events = _stream(sim, ["btcusdt@aggTrade"], lambda got: got and got[-1]["a"] > after_gap)
        ids = [e["a"] for e in events]
        jumps = [(a, b) for a, b in itertools.pairwise(ids) if b != a + 1]
        assert jumps == [(first_ids(spec, gap_minute)[1] - 1, after_gap)]
        rest: list[dict] = []
        while len(rest) < len(ids):  # pages of at most 1000, as Binance serves them
            rest += requests.get(
                sim.url + "/api/v3/aggTrades",
                params={
                    "symbol": "BTCUSDT",
                    "fromId": rest[-1]["a"] + 1 if rest else ids[0],
                    "limit": min(1000, len(ids) - len(rest)),
                },
            ).json()
        assert [r["a"] for r in rest] == ids


def test_closed_klines_equal_rest_klines() -> None:
    with Simulator(speed=60) as sim:
        events = _stream(sim, ["ethusdt@kline_1m"], lambda got: sum(e["k"]["x"] for e in got) >= 3)
        closed = [e["k"] for e in events if e["k"]["x"]]
        for k in closed:
            (row,) = requests.get(
                sim.url + "/api/v3/klines",
                params={"symbol": "ETHUSDT", "interval": "1m", "startTime": k["t"], "limit": 1},
            ).json()
            fields = [k[key] for key in ("t", "o", "h", "l", "c", "v", "T", "q", "n", "V", "Q")]
            assert fields == row[:11]
            assert k["s"] == "ETHUSDT" and k["i"] == "1m"
            assert k["L"] - k["f"] + 1 == k["n"]  # no gap: the minute's raw trade ids
        updates = [e["k"] for e in events if e["k"]["t"] == closed[1]["t"]]  # seen from its start
        assert [u["x"] for u in updates] == [False] * (len(updates) - 1) + [True]
        counts = [u["n"] for u in updates[:-1]]  # sent as it trades, never unchanged
        assert len(counts) >= 2 and counts == sorted(set(counts))


def _apply(book: dict[str, dict[str, str]], event: dict[str, Any]) -> None:
    for side, key in (("bids", "b"), ("asks", "a")):
        for price, amount in event[key]:
            if float(amount) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = amount


def test_a_book_from_a_rest_snapshot_and_diffs_equals_book_at(fast_sim: Simulator) -> None:
    spec = _spec(fast_sim)

    async def body(client: RawClient) -> list[tuple[int, dict]]:
        await client.request("SUBSCRIBE", ["btcusdt@depth@100ms"])
        snapshot = requests.get(
            fast_sim.url + "/api/v3/depth", params={"symbol": "BTCUSDT", "limit": DIFF_DEPTH}
        ).json()
        book = {side: dict(snapshot[side]) for side in ("bids", "asks")}
        nonce, checked = snapshot["lastUpdateId"], []
        while len(checked) < 15:
            event = await client.receive()
            if event["u"] <= nonce:
                continue
            if checked:  # contiguous from the first event applied on
                assert event["U"] == nonce + 1
            assert event["U"] <= nonce + 1 <= event["u"]  # Binance's sync rule
            _apply(book, event)
            nonce = event["u"]
            checked.append((nonce, {side: dict(levels) for side, levels in book.items()}))
        return checked

    for update_id, book in body_result(fast_sim, body):
        true = book_at(spec, update_id, DIFF_DEPTH, now_ms=fast_sim.now_ms())
        expected = true.to_ccxt(spec)
        for side in ("bids", "asks"):
            ours = sorted(
                ([float(p), float(q)] for p, q in book[side].items()), reverse=side == "bids"
            )
            assert ours[:DIFF_DEPTH] == expected[side]


def body_result(sim: Simulator, body) -> Any:
    return run_client(sim.ws_url, body)


def test_ticker_events_are_the_rest_ticker_at_their_time(fast_sim: Simulator) -> None:
    spec = _spec(fast_sim, "ETHUSDT")
    events = _stream(fast_sim, ["ethusdt@ticker", "!miniTicker@arr"], lambda got: len(got) >= 4)
    full = [e for e in events if isinstance(e, dict)]
    mini = [e for e in events if isinstance(e, list)]
    assert full and mini
    for event in full:
        rest = ticker(spec, event["E"])
        assert event == {
            "e": "24hrTicker", "E": event["E"], "s": "ETHUSDT", "p": rest["priceChange"],
            "P": rest["priceChangePercent"], "w": rest["weightedAvgPrice"],
            "x": rest["prevClosePrice"], "c": rest["lastPrice"], "Q": rest["lastQty"],
            "b": rest["bidPrice"], "B": rest["bidQty"], "a": rest["askPrice"],
            "A": rest["askQty"], "o": rest["openPrice"], "h": rest["highPrice"],
            "l": rest["lowPrice"], "v": rest["volume"], "q": rest["quoteVolume"],
            "O": rest["openTime"], "C": rest["closeTime"], "F": rest["firstId"],
            "L": rest["lastId"], "n": rest["count"],
        }  # fmt: skip
    for array in mini:
        assert [e["s"] for e in array] == list(fast_sim._state.specs)
        eth = next(e for e in array if e["s"] == "ETHUSDT")
        rest = ticker(spec, eth["E"])
        assert eth == {
            "e": "24hrMiniTicker", "E": eth["E"], "s": "ETHUSDT", "c": rest["lastPrice"],
            "o": rest["openPrice"], "h": rest["highPrice"], "l": rest["lowPrice"],
            "v": rest["volume"], "q": rest["quoteVolume"],
        }  # fmt: skip


def _book_dict(book: Any, spec: Any) -> dict[str, dict[str, float]]:
    ccxt_book = book.to_ccxt(spec)
    return {side: {str(p): q for p, q in ccxt_book[side]} for side in ("bids", "asks")}


def test_a_diff_also_reaches_a_book_from_a_snapshot_served_inside_its_range() -> None:
    """A snapshot taken between two events: the level that changed and changed back since
    the previous event must be in the next one too, or the book stays wrong."""
    spec = make_specs(None, 600)["BTCUSDT"]
    start = 1_710_506_096_789
    served: list[int] = []
    feed = DepthFeed(spec, 100, start, lambda: served)
    snapshot = book_at_time(spec, start + 40_000, DIFF_DEPTH)
    served.append(snapshot.update_id)
    (text,) = feed.poll(start + 80_000, ())
    event = json.loads(text)
    assert event["U"] <= snapshot.update_id < event["u"]
    book = {side: {p: float(q) for p, q in levels.items()} for side, levels in
            _book_dict(snapshot, spec).items()}  # fmt: skip
    for side, key in (("bids", "b"), ("asks", "a")):
        for price, amount in event[key]:
            book[side].pop(str(float(price)), None)
            if float(amount):
                book[side][str(float(price))] = float(amount)
    expected = book_at(spec, event["u"], DIFF_DEPTH, now_ms=start + 80_000)
    assert book == _book_dict(expected, spec)


def test_a_kline_is_sent_again_only_when_it_traded_or_closed() -> None:
    spec = make_specs(None, 600)["BTCUSDT"]
    start = 1_710_506_096_789  # 56.789 s into a minute
    feed = KlineFeed(spec, "1m", start)
    (first,) = feed.poll(start, ())
    assert feed.poll(start, ()) == []  # nothing traded since
    closing, opening = (json.loads(text)["k"] for text in feed.poll(start + 4_000, ()))
    assert (closing["t"], closing["x"], opening["t"], opening["x"]) == (
        json.loads(first)["k"]["t"], True, closing["t"] + MINUTE_MS, False,
    )  # fmt: skip
