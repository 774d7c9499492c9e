"""`marketdata stream`: WebSocket streams for markets with `stream: true`, REST polling for the
order books and tickers of the others, until stopped; then everything held is written.

One ccxt.pro exchange per connector carries all its streams (its REST calls, book snapshots and
trade repairs among them, charged to the connector's budget). Which watch method serves a kind
of data is decided from ccxt's `has` flags: the `*ForSymbols` variant where the exchange has
it, else one loop per symbol. Every series is leased to one collector at a time, like the REST
collector's, and every write takes the series lock, so a REST backfill may run beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict

import ccxt

from ..config import LoadedConfig, Series
from ..coordination import coordination_for
from ..exchange.errors import FetchError
from ..exchange.quirks import (
    CONNECTION_LIMITS,
    DEFAULT_CONNECTION_LIMIT,
    STREAM_KLINES,
    WATCH_PARAMS,
)
from ..exchange.resource import exchange_resource_key, exchange_resources
from ..storage.schema import LIBRARY_OF
from ..storage.store import CandleStore
from . import state
from .books_stream import BookStream, TickerStream
from .candles_stream import CandleStream
from .collector import Collector
from .connection import Connections, EventLog, Gate, as_tickers, now_ms, per_symbols, watch_loop
from .leases import Leases
from .observe import Observer
from .trades_stream import TradeStream

COMPACT_SECONDS = 3600.0


class StreamService:
    """Streams `series` of streamed markets and polls the others until `stop` is set."""

    def __init__(
        self,
        config: LoadedConfig,
        series: list[Series],
        store: CandleStore,
        say: Callable[[str], None],
        flush_seconds: float = 1.0,
    ) -> None:
        self.config, self.store, self.say = config, store, say
        self.log = EventLog(say)
        self.flush_seconds = flush_seconds
        self.streamed = [s for s in series if config.streamed(s)]
        self.polled = [s for s in series if not config.streamed(s)]
        self.written: dict[str, int] = {}
        self.lost: list[str] = []  # see `Leases.lost`
        self.observer = Observer(config)

    async def run(self, stop: asyncio.Event) -> None:
        with ExitStack() as stack:
            leases = Leases(stack, self.config, self.streamed, self.say)
            self.lost = leases.lost
            async with asyncio.TaskGroup() as group:
                if self.polled:
                    collector = Collector(self.config, self.polled, self.store, self.say)
                    group.create_task(self._polled(collector, stop))
                for exchange, members in leases.by_exchange.items():
                    group.create_task(ExchangeStreams(self, exchange, members).run(stop))
                if leases.by_exchange:
                    group.create_task(leases.keep(stop))

    async def _polled(self, collector: Collector, stop: asyncio.Event) -> None:
        await collector.run(stop)
        self.written.update(collector.stored)
        self.lost += collector.lost


class ExchangeStreams:
    """Every stream of one connector, on one ccxt.pro exchange."""

    def __init__(self, service: StreamService, exchange_id: str, series: list[Series]) -> None:
        self.service, self.exchange_id, self.series = service, exchange_id, series
        self.log = service.log
        self.connections = Connections(exchange_id, self.log, STREAM_KLINES.get(exchange_id))
        self.backend = coordination_for(service.config)
        attempts, seconds = CONNECTION_LIMITS.get(exchange_id, DEFAULT_CONNECTION_LIMIT)
        self.connect_budget = self.backend.budget(
            f"{exchange_id}/ws-connections", attempts, seconds
        )

    def of(self, data: str) -> list[Series]:
        return [s for s in self.series if s.data == data]

    async def run(self, stop: asyncio.Event) -> None:
        """Stream until `stop`; an exchange that cannot be reached is tried again (backing
        off, saying so) until it answers or the service stops."""
        gate = Gate(self.connect_budget)
        while not stop.is_set():
            try:
                await self._run(stop)
                return
            except FetchError as e:
                gate.failures += 1
                delay = gate.delay()
                self.log("unreachable", exchange=self.exchange_id, error=e, retry_s=round(delay))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    async def _run(self, stop: asyncio.Event) -> None:
        resource = exchange_resources(self.service.config)[exchange_resource_key(self.exchange_id)]
        client = resource.client(streaming=self.connections.wrap)
        store = self.service.store
        async with client:
            ex = self.exchange = client.exchange
            self.trades = {
                s.symbol: TradeStream(s, store, client, self.log) for s in self.of("trades")
            }
            for t in self.trades.values():
                await asyncio.to_thread(t.start)
            self.books = BookStream(ex, self.of("order_book"), self.log)
            self.tickers = TickerStream(self.of("ticker"), self.log)
            self.candles = CandleStream(ex, self.of("candles"), self.connections)
            self.connections.on_drop[:] = [
                self.books.dropped,
                self.tickers.dropped,
                self.candles.dropped,
            ]
            tasks = [asyncio.create_task(c) for c in self._loops(ex, stop)]
            stopping = asyncio.create_task(stop.wait())
            try:
                # A loop never ends by itself: one that does failed, and the service with it
                # (after writing what it holds) rather than going on without it.
                await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in [*tasks, stopping]:
                    task.cancel()
                await asyncio.gather(*tasks, stopping, return_exceptions=True)
                await self._flush(final=True)
                await self._compact()
                self.connections.closing = True
            for task in tasks:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()

    def _loops(self, ex, stop: asyncio.Event) -> list:
        """The watch loops (from ccxt's `has`), the snapshot cadences and the flusher."""
        params = WATCH_PARAMS.get(self.exchange_id, {})
        loops = []

        def add(kind: str, watches: list, handle, on_error=None) -> None:
            for watch in watches:
                loops.append(
                    watch_loop(
                        self.connections,
                        Gate(self.connect_budget),
                        watch,
                        handle,
                        on_error or (lambda e, kind=kind: self._failed(kind, e)),
                    )
                )

        if symbols := list(self.trades):
            p = params.get("trades", {})
            add(
                "trades",
                per_symbols(
                    ex,
                    "watchTradesForSymbols",
                    "watch_trades_for_symbols",
                    "watch_trades",
                    symbols,
                    p,
                ),
                self._on_trades,
            )
        if books := self.of("order_book"):
            symbols = [s.symbol for s in books]
            add(
                "order_book",
                per_symbols(
                    ex,
                    "watchOrderBookForSymbols",
                    "watch_order_book_for_symbols",
                    "watch_order_book",
                    symbols,
                    {},
                ),
                self.books.handle,
                self._book_failed,
            )
            loops += [self.books.snapshots(s, stop) for s in books]
        if tickers := self.of("ticker"):
            symbols = [s.symbol for s in tickers]
            p = params.get("tickers", {})
            if ex.has.get("watchTickers"):
                watches = [lambda: ex.watch_tickers(symbols, p)]
            else:
                watches = [as_tickers(ex, s, p) for s in symbols]
            add("ticker", watches, self.tickers.handle)
            loops.append(self.tickers.snapshots(tickers[0].every_seconds, stop))
        if candles := self.of("candles"):
            pairs = [[s.symbol, s.timeframe.name] for s in candles]
            if ex.has.get("watchOHLCVForSymbols"):
                watches = [lambda: ex.watch_ohlcv_for_symbols(pairs)]
            else:
                watches = [lambda s=s, tf=tf: ex.watch_ohlcv(s, tf) for s, tf in pairs]
            add("candles", watches, self.candles.handle)
        loops.append(self._flusher(stop))
        return loops

    def _on_trades(self, trades) -> None:
        if trades and trades[0].get("symbol") in self.trades:
            self.trades[trades[0]["symbol"]].offer(list(trades))

    def _failed(self, kind: str, error: BaseException) -> None:
        """A lost connection is logged once, by its hook; anything else here."""
        if not isinstance(error, ccxt.NetworkError):
            self.log("watch_error", exchange=self.exchange_id, data=kind, error=error)

    def _book_failed(self, error: BaseException) -> None:
        self.books.failed(error)  # a sequence break is logged there, as a resync
        if not isinstance(error, ccxt.InvalidNonce):
            self._failed("order_book", error)

    async def _flusher(self, stop: asyncio.Event) -> None:
        compacted = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(self.service.flush_seconds)
            await self._flush()
            if time.monotonic() - compacted > COMPACT_SECONDS:
                compacted = time.monotonic()
                await self._compact()

    async def _compact(self) -> None:
        """A write a second leaves a segment a second: the trades and candles written are
        compacted about once an hour and on exit (books and tickers by their daily asset)."""
        for series in [*self.of("trades"), *self.of("candles")]:
            library = LIBRARY_OF[series.data]
            await asyncio.to_thread(self.service.store.compact, series, library)

    async def _flush(self, final: bool = False) -> None:
        store = self.service.store
        for t in self.trades.values():
            await t.flush()
        for snapshots in [*self.books.books.values(), *self.tickers.tickers.values()]:
            await snapshots.flush(store)
        await self.candles.flush(store)
        await asyncio.to_thread(self._record, final)

    def _counts(self):
        yield from ((t.series, t.counts) for t in self.trades.values())
        yield from ((s.series, s.counts) for s in self.books.books.values())
        yield from ((s.series, s.counts) for s in self.tickers.tickers.values())
        yield from ((self.candles.series[k], c) for k, c in self.candles.counts.items())

    def _record(self, final: bool) -> None:
        """Each stream's state where `marketdata status` reads it; the totals at the end."""
        clients = list((self.exchange.clients or {}).values())
        connected = not final and bool(clients) and not any(c.closed() for c in clients)
        for series, counts in self._counts():
            record = dict(connected=connected, reconnects=self.connections.drops, **asdict(counts))
            if counts.last_message_ms is not None:
                record["silent_ms"] = now_ms() - counts.last_message_ms
            state.update(self.backend, series.name, pid=os.getpid(), **record)
            self.service.observer.observe(series, record, final)
            self.service.written[series.name] = counts.rows_written
            if final:
                self.log("flush", series=series.name, rows_written=counts.rows_written)
