"""The fast clock, and REST and streams reading the same one."""

from __future__ import annotations

import time

import pytest
import requests

from marketdata_pipeline.simulator import Simulator
from marketdata_pipeline.simulator.clock import SpeedClock

from .conftest import NOW_MS, FakeClock
from .ws.conftest import RawClient, run_client


def test_a_speed_clock_starts_where_told_and_runs_speed_times_faster() -> None:
    clock = SpeedClock(speed=50, start_ms=NOW_MS)
    first = clock()
    time.sleep(0.1)
    assert NOW_MS <= first < clock() and clock() - NOW_MS >= 50 * 100


def test_speed_is_positive_and_excludes_a_clock() -> None:
    with pytest.raises(ValueError, match="speed must be positive"):
        SpeedClock(speed=0)
    with pytest.raises(ValueError, match="either clock, or speed and start_ms"):
        Simulator(clock=FakeClock(), speed=20)


def test_rest_and_streams_tell_the_same_time() -> None:
    with Simulator(speed=20, start_ms=NOW_MS) as sim:
        rest = requests.get(sim.url + "/api/v3/time").json()["serverTime"]

        async def body(client: RawClient) -> int:
            await client.request("SUBSCRIBE", ["btcusdt@aggTrade"])
            return (await client.receive())["E"]

        streamed = run_client(sim.ws_url, body)
        now = sim.now_ms()
    assert NOW_MS <= rest <= streamed <= now
    assert now < NOW_MS + 3_600_000  # the clock started at NOW_MS, not at the wall clock
