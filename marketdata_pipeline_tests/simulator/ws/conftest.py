"""A fast-clock simulator and a raw WebSocket client (aiohttp) for the stream tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from marketdata_pipeline.simulator import Simulator

SPEED = 20
"""Simulated seconds per real second: a simulated minute streams in three seconds."""


@pytest.fixture
def fast_sim() -> Iterator[Simulator]:
    with Simulator(speed=SPEED) as simulator:
        yield simulator


class RawClient:
    """A bare aiohttp WebSocket: every text message parsed, in arrival order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def request(self, method: str, params: list[str] | None = None) -> dict[str, Any]:
        """Send a request and return its answer; events received meanwhile are dropped."""
        self.next_id += 1
        body: dict[str, Any] = {"method": method, "id": self.next_id}
        if params is not None:
            body["params"] = params
        await self.ws.send_str(json.dumps(body))
        while True:
            message = await self.receive()
            if message.get("id") == self.next_id:
                return message

    async def receive(self, timeout: float = 10.0) -> Any:
        message = await self.ws.receive(timeout=timeout)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"{message.type.name} {self.ws.close_code}")
        return json.loads(message.data)

    async def events_until(self, done: Callable[[list[Any]], bool]) -> list[Any]:
        """Events (not answers) until ``done(events)`` holds."""
        events: list[Any] = []
        while not done(events):
            message = await self.receive()
            if not (isinstance(message, dict) and "id" in message):
                events.append(message)
        return events


def settled_ws_stats(sim: Simulator) -> dict[str, Any]:
    """``stats()["ws"]`` once the server has finished every connection (a client may see its
    connection end a moment before the server's handler records why)."""
    for _ in range(100):
        stats = sim.stats()["ws"]
        if stats["connections_open"] == 0:
            return stats
        time.sleep(0.05)
    raise AssertionError(f"connections still open after 5 s: {stats}")


def run_client(url: str, body: Callable[[RawClient], Any]) -> Any:
    """Connect to ``url``, run ``await body(client)`` and return its result."""

    async def main() -> Any:
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            return await body(RawClient(ws))

    return asyncio.run(main())
