"""The stream protocol on the wire (a raw aiohttp client), run-time faults and statistics."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import aiohttp
import requests

from marketdata_pipeline.simulator import Faults, Simulator

from .conftest import SPEED, RawClient, run_client, settled_ws_stats


def test_subscribe_list_and_unsubscribe_answer_as_binance(fast_sim: Simulator) -> None:
    async def body(client: RawClient) -> list[Any]:
        answers = [await client.request("SUBSCRIBE", ["btcusdt@aggTrade", "ethusdt@kline_1h"])]
        answers.append(await client.request("LIST_SUBSCRIPTIONS"))
        answers.append(await client.request("UNSUBSCRIBE", ["btcusdt@aggTrade"]))
        answers.append(await client.request("LIST_SUBSCRIPTIONS"))
        return answers

    assert run_client(fast_sim.ws_url + "/0", body) == [
        {"result": None, "id": 1},
        {"result": ["btcusdt@aggTrade", "ethusdt@kline_1h"], "id": 2},
        {"result": None, "id": 3},
        {"result": ["ethusdt@kline_1h"], "id": 4},
    ]


def test_bad_requests_get_binance_errors_and_subscribe_nothing(fast_sim: Simulator) -> None:
    async def body(client: RawClient) -> list[Any]:
        answers = [await client.request("SUBSCRIBE", ["btcusdt@aggTrade", "foousdt@trade"])]
        answers.append(await client.request("SUBSCRIBE", ["btcusdt@depth7"]))
        answers.append(await client.request("PING"))
        await client.ws.send_str("{not json")
        answers.append(await client.receive())
        answers.append(await client.request("LIST_SUBSCRIPTIONS"))
        return answers

    unknown, bad_kind, bad_method, bad_json, listed = run_client(fast_sim.ws_url, body)
    assert unknown == {
        "error": {
            "code": 2,
            "msg": "Invalid request: unknown stream 'foousdt@trade': no market 'foousdt'",
        },
        "id": 1,
    }
    assert bad_kind["error"]["code"] == 2 and "btcusdt@depth7" in bad_kind["error"]["msg"]
    assert bad_method["error"]["code"] == 2 and "'PING'" in bad_method["error"]["msg"]
    assert bad_json["error"]["code"] == 3 and bad_json["id"] is None
    assert listed == {"result": [], "id": 4}


def test_combined_streams_wrap_events_and_raw_paths_subscribe_at_connect(
    fast_sim: Simulator,
) -> None:
    async def first_event(client: RawClient) -> Any:
        return (await client.events_until(lambda got: len(got) >= 1))[0]

    base = fast_sim.ws_url.removesuffix("/ws")
    combined = run_client(f"{base}/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade", first_event)
    assert combined["stream"] in ("btcusdt@aggTrade", "ethusdt@aggTrade")
    assert combined["data"]["e"] == "aggTrade"
    assert combined["data"]["s"] == combined["stream"].split("@")[0].upper()
    raw = run_client(f"{fast_sim.ws_url}/ethusdt@trade", first_event)
    assert raw["e"] == "trade" and raw["s"] == "ETHUSDT"


def test_stats_count_connections_subscriptions_and_every_message(fast_sim: Simulator) -> None:
    async def read(client: RawClient) -> int:
        """Events until the UNSUBSCRIBE answer, which leaves after every event queued before."""
        await client.request("SUBSCRIBE", ["btcusdt@aggTrade"])
        events = await client.events_until(lambda got: len(got) >= 50)
        await client.ws.send_str(
            json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 9})
        )
        while (message := await client.receive()).get("id") != 9:
            events.append(message)
        return len(events)

    async def two(client: RawClient) -> int:  # a second connection on the same stream
        async with aiohttp.ClientSession() as session, session.ws_connect(fast_sim.ws_url) as ws:
            return sum(await asyncio.gather(read(client), read(RawClient(ws))))

    received = run_client(fast_sim.ws_url, two)
    listed = run_client(fast_sim.ws_url, lambda client: client.request("LIST_SUBSCRIPTIONS"))
    assert listed == {"result": [], "id": 1}  # answers are not stream messages
    ws = settled_ws_stats(fast_sim)
    assert requests.get(fast_sim.url + "/sim/stats").json()["ws"] == ws
    assert ws == {
        "connections_opened": 3,
        "connections_open": 0,
        "connections_refused": 0,
        "subscribe_requests": 2,
        "subscriptions": {"btcusdt@aggTrade": 2},
        "messages_by_stream": {"btcusdt@aggTrade": received},
        "messages": received,
        "disconnects": {"client": 3},
        "depth_skipped": 0,
    }
    assert fast_sim._hub is not None and fast_sim._hub.feeds == {}  # nobody left: none polled


async def _until_closed(client: RawClient) -> tuple[list[Any], int | None]:
    """Every message until the connection ends, and its close code (1006: cut without one);
    None if it is still open after a simulated minute of events."""
    messages: list[Any] = []
    while True:
        message = await client.ws.receive(timeout=10)
        if message.type == aiohttp.WSMsgType.CLOSE:  # a close frame, with its code
            return messages, message.data
        if message.type != aiohttp.WSMsgType.TEXT:
            return messages, client.ws.close_code
        messages.append(json.loads(message.data))
        times = [m["E"] for m in messages if isinstance(m, dict) and "E" in m]
        if times and times[-1] - times[0] > 60_000:
            return messages, None


def _subscribed_then(sim: Simulator, act: str, stream: str = "btcusdt@aggTrade") -> Any:
    """Subscribe, see an event, POST ``/sim/ws/<act>`` (another process's way), then read on."""

    async def body(client: RawClient) -> tuple[list[Any], int | None]:
        await client.request("SUBSCRIBE", [stream])
        seen = await client.events_until(lambda got: len(got) >= 1)
        loop = asyncio.get_running_loop()
        url = f"{sim.url}/sim/ws/{act}"
        assert (await loop.run_in_executor(None, requests.post, url)).json() == {"ok": True}
        messages, code = await _until_closed(client)
        return seen + messages, code

    return run_client(sim.ws_url, body)


def test_drop_cuts_every_connection_without_a_close_frame(fast_sim: Simulator) -> None:
    _, code = _subscribed_then(fast_sim, "drop")
    assert code == 1006
    assert settled_ws_stats(fast_sim)["disconnects"] == {"drop": 1}


def test_shutdown_sends_server_shutdown_then_closes(fast_sim: Simulator) -> None:
    fast_sim.set_faults(Faults(ws_delay_ms=300))  # events go on meanwhile: none sent after
    messages, code = _subscribed_then(fast_sim, "shutdown")
    assert code == 1001
    assert messages[-1] == {"e": "serverShutdown", "E": messages[-1]["E"]}
    ws = settled_ws_stats(fast_sim)
    assert ws["disconnects"] == {"shutdown": 1}
    assert ws["messages_by_stream"] == {"btcusdt@aggTrade": len(messages) - 1}


def test_skip_depth_leaves_one_gap_in_the_update_ids(fast_sim: Simulator) -> None:
    async def body(client: RawClient) -> list[Any]:
        await client.request("SUBSCRIBE", ["btcusdt@depth@100ms"])
        events = await client.events_until(lambda got: len(got) >= 3)
        fast_sim.ws_skip_depth()
        return events + await client.events_until(lambda got: len(got) >= 6)

    events = run_client(fast_sim.ws_url, body)
    gaps = [b["U"] - a["u"] - 1 for a, b in itertools.pairwise(events)]
    assert len([g for g in gaps if g]) == 1 and min(gaps) == 0
    assert settled_ws_stats(fast_sim)["depth_skipped"] == 1


def test_connections_close_at_their_maximum_age(fast_sim: Simulator) -> None:
    fast_sim.set_faults(Faults(ws_max_connection_s=30))  # 1.5 s of real time at SPEED 20
    opened = fast_sim.now_ms()

    async def body(client: RawClient) -> tuple[list[Any], int | None]:
        await client.request("SUBSCRIBE", ["btcusdt@aggTrade"])
        return await _until_closed(client)

    messages, code = run_client(fast_sim.ws_url, body)
    assert code == 1000
    events = messages[1:]  # after the answer: the first was sent after the connection opened
    assert events[-1]["E"] - events[0]["E"] < 30_000 <= fast_sim.now_ms() - opened
    assert settled_ws_stats(fast_sim)["disconnects"] == {"max_age": 1}


def test_periodic_drops_cut_connections_until_switched_off(fast_sim: Simulator) -> None:
    fast_sim.set_faults(Faults(ws_drop_every_s=20))

    async def body(client: RawClient) -> tuple[list[Any], int | None]:
        await client.request("SUBSCRIBE", ["btcusdt@aggTrade"])
        return await _until_closed(client)

    assert run_client(fast_sim.ws_url, body)[1] == 1006  # within a simulated minute
    assert run_client(fast_sim.ws_url, body)[1] == 1006
    fast_sim.set_faults(Faults())

    async def lasts(client: RawClient) -> int:
        await client.request("SUBSCRIBE", ["btcusdt@aggTrade"])
        start = fast_sim.now_ms()
        events = await client.events_until(lambda got: got and got[-1]["E"] - start > 45_000)
        return len(events)

    assert run_client(fast_sim.ws_url, lasts) > 0
    assert settled_ws_stats(fast_sim)["disconnects"] == {"drop": 2, "client": 1}


def test_delayed_messages_arrive_late_and_in_order(fast_sim: Simulator) -> None:
    fast_sim.set_faults(Faults(ws_delay_ms=500))

    async def body(client: RawClient) -> list[tuple[int, int]]:
        await client.request("SUBSCRIBE", ["btcusdt@aggTrade"])
        lags = []
        for _ in range(20):
            event = await client.receive()
            lags.append((event["a"], fast_sim.now_ms() - event["E"]))
        return lags

    lags = run_client(fast_sim.ws_url, body)
    assert [a for a, _ in lags] == list(range(lags[0][0], lags[0][0] + 20))
    assert min(lag for _, lag in lags) >= 500 * SPEED  # simulated ms: 0.5 s of real time


def test_new_connections_over_the_limit_are_refused_for_five_minutes() -> None:
    with Simulator(speed=120, faults=Faults(ws_connection_limit=2)) as sim:

        async def handshakes() -> list[Any]:
            answers: list[Any] = []
            async with aiohttp.ClientSession() as session:
                for _ in range(3):
                    try:
                        async with session.ws_connect(sim.ws_url):
                            answers.append("open")
                    except aiohttp.WSServerHandshakeError as refused:
                        async with session.get(sim.ws_url) as answer:  # the body, once more
                            answers.append((refused.status, await answer.json()))
            return answers

        assert asyncio.run(handshakes()) == ["open", "open", (429, {
            "code": -1003, "msg": "Too many new connections; current limit is 2 per 5 minutes."
        })]  # fmt: skip
        time.sleep(2.6)  # 5.2 simulated minutes at speed 120: the first ones left the window
        assert run_client(sim.ws_url, lambda client: client.request("LIST_SUBSCRIPTIONS"))
        stats = settled_ws_stats(sim)
    assert (stats["connections_opened"], stats["connections_refused"]) == (3, 2)
