"""The WebSocket side of one exchange: ccxt.pro with hooks on its connections, a gate on
connection attempts, and the watch loop every stream runs.

ccxt.pro reconnects lazily inside the next `watch_*` call, so a connection that drops while no
watch is pending would go unnoticed: the hooks count every drop, and a stream that sees the
count move treats what it holds from before the drop as suspect (an order book, a candle in
progress) and its trade ids as possibly holed.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable

import ccxt

from ..coordination import RequestBudget
from ..exchange.errors import one_line
from ..exchange.quirks import StreamKlines


class EventLog:
    """One structured line per event worth knowing: `stream event=... key=value ...`."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def __call__(self, event: str, **fields) -> None:
        parts = [f"event={event}"]
        for key, value in fields.items():
            text = value if isinstance(value, int | float) else json.dumps(str(value))
            parts.append(f"{key}={text}")
        self.say("stream " + " ".join(parts))


class Connections:
    """What ccxt.pro's connection callbacks tell about one exchange's sockets."""

    def __init__(self, exchange_id: str, log: EventLog, klines: StreamKlines | None) -> None:
        self.exchange_id, self.log, self.klines = exchange_id, log, klines
        self.drops = 0  # every lost connection, whoever was waiting on it
        self.closing = False  # set when the service closes them itself
        self.on_drop: list[Callable[[], None]] = []
        self.kline_extras: dict[tuple[str, str, int], dict] = {}

    def wrap(self, cls: type) -> type:
        """A subclass of the (budgeted) ccxt.pro class that reports to these hooks."""
        hooks = self

        class Watched(cls):
            def on_connected(self, client, message=None):
                super().on_connected(client, message)
                hooks.log("connect", exchange=hooks.exchange_id, url=client.url)

            def on_close(self, client, error):
                hooks.dropped(client, f"code {error}")
                super().on_close(client, error)

            def on_error(self, client, error):
                hooks.dropped(client, one_line(error))
                super().on_error(client, error)

            def handle_message(self, client, message):
                hooks.tap(message)
                super().handle_message(client, message)

        Watched.__name__ = cls.__name__
        return Watched

    def dropped(self, client, reason: str) -> None:
        if self.closing:
            return
        self.drops += 1
        self.log("disconnect", exchange=self.exchange_id, url=client.url, reason=reason)
        for forget in self.on_drop:
            forget()

    def tap(self, message) -> None:
        """Keep what ccxt's kline parse drops (see `quirks.STREAM_KLINES`)."""
        k = self.klines
        if k is None or not isinstance(message, dict) or message.get(k.event_key) != k.event:
            return
        body = message.get(k.body) or {}
        key = (str(body.get(k.symbol)), str(body.get(k.interval)), int(body.get(k.open_time, 0)))
        self.kline_extras[key] = {column: body.get(f) for column, f in k.extras.items()}


class Gate:
    """Connection attempts of one watch loop: exponential backoff with jitter after a failure,
    and the exchange's per-IP connection limit, shared by every process as a budget."""

    def __init__(self, budget: RequestBudget, base: float = 0.5, cap: float = 30.0) -> None:
        self.budget, self.base, self.cap = budget, base, cap
        self.failures = 0

    def delay(self) -> float:
        """Seconds to wait before the next attempt: none after a success."""
        if not self.failures:
            return 0.0
        return min(self.cap, self.base * 2 ** (self.failures - 1)) * (0.5 + random.random())

    async def attempt(self) -> None:
        await asyncio.sleep(self.delay())
        await self.budget.acquire(1)


async def watch_loop(
    connections: Connections,
    gate: Gate,
    watch: Callable[[], Awaitable],
    handle: Callable[[object], None],
    on_error: Callable[[BaseException], None],
) -> None:
    """Call `watch` forever, handing each answer to `handle`; a failure goes to `on_error`
    and the next call reconnects through the gate (cancel the task to stop)."""
    seen = -1
    while True:
        if seen != connections.drops:  # a fresh connection: the gate first
            seen = connections.drops
            await gate.attempt()
        try:
            answer = await watch()
        except (ccxt.NetworkError, ccxt.ExchangeError) as e:
            gate.failures += 1
            on_error(e)
            seen = -1
            continue
        gate.failures = 0
        handle(answer)


def per_symbols(ex, flag: str, many: str, one: str, symbols: list[str], params: dict) -> list:
    """One call for all symbols where ccxt's `has` says the exchange can, else one per symbol."""
    if ex.has.get(flag):
        return [lambda: getattr(ex, many)(symbols, params=params)]
    return [lambda s=s: getattr(ex, one)(s, params=params) for s in symbols]


def as_tickers(ex, symbol: str, params: dict):
    """`watch_ticker` of one symbol answering like `watch_tickers` (where ccxt lacks it)."""

    async def watch():
        return {symbol: await ex.watch_ticker(symbol, params)}

    return watch


def now_ms() -> int:
    return int(time.time() * 1000)
