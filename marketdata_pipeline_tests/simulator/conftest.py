"""Shared fixtures: a fake clock, running simulators (both protocols) and ccxt clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
import requests

from marketdata_pipeline.simulator import Simulator, ccxt_config

NOW_MS = 1_710_506_096_789  # 2024-03-15T12:34:56.789Z, a Friday
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


class FakeClock:
    """Callable returning a settable time in ms, so tests move time instead of sleeping."""

    def __init__(self, now_ms: int = NOW_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    with Simulator(clock=clock) as simulator:
        yield simulator


def make_exchange(url: str, **extra: Any) -> ccxt.binance:
    """A sync ccxt client without client-side throttling, so tests run fast."""
    return ccxt.binance({**ccxt_config(url), "enableRateLimit": False, **extra})


@pytest.fixture
def exchange(sim: Simulator) -> ccxt.binance:
    ex = make_exchange(sim.url)
    ex.load_markets()
    return ex


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def klines(http: requests.Session, url: str, **params: Any) -> requests.Response:
    """Raw ``GET /api/v3/klines`` (no ccxt), for checking wire-level details."""
    return http.get(f"{url}/api/v3/klines", params=params, timeout=10)


def make_okx(url: str, **extra: Any) -> ccxt.okx:
    """A sync ccxt okx client without client-side throttling."""
    return ccxt.okx({**ccxt_config(url, "okx"), "enableRateLimit": False, **extra})


@pytest.fixture
def okx_sim(clock: FakeClock) -> Iterator[Simulator]:
    """The OKX protocol over the same market model and clock as ``sim``."""
    with Simulator(clock=clock, exchange="okx") as simulator:
        yield simulator


def okx_candles(
    http: requests.Session, url: str, history: bool = False, **params: Any
) -> requests.Response:
    """Raw ``GET /api/v5/market/candles`` (or ``history-candles``), for wire-level details."""
    path = "history-candles" if history else "candles"
    return http.get(f"{url}/api/v5/market/{path}", params=params, timeout=10)
