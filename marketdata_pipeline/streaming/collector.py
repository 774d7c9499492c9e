"""The collector: one long-lived process that polls order books and tickers over REST.

An exchange keeps no history of its book, so what is not collected is gone: snapshots are
taken on a fixed grid of `every_seconds` slots (a missed slot shows as a cadence gap, never as
an invented row), buffered, and written in batches (one ArcticDB version per flush, not per
snapshot). Each series is leased to one collector at a time (see `leases`).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack

import ccxt
import polars as pl

from ..books.layout import snapshot_rows, ticker_rows
from ..config import LoadedConfig, Series
from ..exchange.client import ExchangeClient
from ..exchange.errors import FetchError, MalformedPage
from ..exchange.resource import exchange_resource_key, exchange_resources
from ..storage.schema import LIBRARY_OF
from ..storage.store import CandleStore
from .leases import Leases


class Collector:
    """Polls `series` (order books and tickers) until `stop` is set, then flushes and returns."""

    def __init__(
        self,
        config: LoadedConfig,
        series: list[Series],
        store: CandleStore,
        say: Callable[[str], None],
        flush_seconds: float = 30.0,
    ) -> None:
        self.config, self.series, self.store, self.say = config, series, store, say
        self.flush_seconds = flush_seconds
        self.pending: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self.stored: dict[str, int] = defaultdict(int)
        self.by_name = {s.name: s for s in series}
        self.lost: list[str] = []  # see `Leases.lost`

    async def run(self, stop: asyncio.Event) -> None:
        with ExitStack() as stack:
            leases = Leases(stack, self.config, self.series, self.say)
            self.lost = leases.lost
            if not leases.by_exchange:
                return
            resources = exchange_resources(self.config)
            try:
                async with asyncio.TaskGroup() as group:
                    for exchange, members in leases.by_exchange.items():
                        client = resources[exchange_resource_key(exchange)].client()
                        group.create_task(self._exchange(client, members, stop))
                    group.create_task(self._flusher(stop))
                    group.create_task(leases.keep(stop))
            finally:
                await asyncio.to_thread(self.flush)

    async def _exchange(self, client: ExchangeClient, members: list[Series], stop) -> None:
        """Poll one exchange's series (their markets checked before the collector starts); an
        exchange that cannot be reached is retried until it answers or the collector stops,
        saying so each time."""
        pause = 1.0
        while not stop.is_set():
            try:
                async with client:
                    polls = [self._book(client, s, stop) for s in members if s.data == "order_book"]
                    tickers = [s for s in members if s.data == "ticker"]
                    if tickers:
                        polls.append(self._tickers(client, tickers, stop))
                    await asyncio.gather(*polls)
                    return
            except FetchError as e:
                self.say(f"{e}; connecting again in {pause:.0f} s")
                try:
                    await asyncio.wait_for(stop.wait(), pause)
                except TimeoutError:
                    pause = min(pause * 2, 60.0)

    async def _book(self, client: ExchangeClient, series: Series, stop) -> None:
        async def fetch():
            book = await _parsed(client.exchange.fetch_order_book(series.symbol, series.depth))
            if book.get("nonce") is None or not (book["bids"] and book["asks"]):
                raise MalformedPage(f"a book without update id or levels for {series.symbol}")
            return book

        async for _ in slots(series.every_seconds, stop):
            book = await self._request(client, f"{series.name} snapshot", fetch)
            if book is not None:
                self.pending[series.name].append(snapshot_rows([book], series.depth, _now_ms()))

    async def _tickers(self, client: ExchangeClient, members: list[Series], stop) -> None:
        """All ticker markets of one exchange in one request per tick, not one per symbol."""
        symbols = [s.symbol for s in members]
        names = {s.symbol: s.name for s in members}

        async def fetch():
            tickers = await _parsed(client.exchange.fetch_tickers(symbols))
            if not all(isinstance(tickers.get(s), dict) for s in symbols):
                raise MalformedPage(f"tickers answer without {', '.join(symbols)}")
            return tickers

        async for _ in slots(members[0].every_seconds, stop):
            tickers = await self._request(client, f"{client.connector.id} tickers", fetch)
            if tickers is None:
                continue
            frame = ticker_rows({s: tickers[s] for s in symbols}, _now_ms())
            for (symbol,), rows in frame.partition_by("symbol", as_dict=True).items():
                self.pending[names[symbol]].append(rows.drop("symbol"))

    async def _request(self, client: ExchangeClient, what: str, fetch):
        """One poll under the budget; a poll that fails after its retries is a missed slot."""
        try:
            return await client.call(what, fetch)
        except FetchError as e:
            self.say(f"missed: {e}")
            return None

    async def _flusher(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.flush_seconds)
            except TimeoutError:
                await asyncio.to_thread(self.flush)

    def flush(self) -> None:
        """Write every buffered snapshot, a batch per series."""
        for name in list(self.pending):
            frames, self.pending[name] = self.pending[name], []
            if not frames:
                continue
            try:
                written = store_snapshots(self.store, self.by_name[name], frames)
            except Exception as e:  # kept for the next flush: a snapshot cannot be fetched again
                self.pending[name] = frames + self.pending[name]
                self.say(f"writing {name} failed, kept for the next flush: {e}")
                continue
            self.stored[name] += written
            self.say(f"stored {written} snapshots of {name}")


def store_snapshots(store: CandleStore, series: Series, frames: list[pl.DataFrame]) -> int:
    """Write buffered snapshots (books or tickers) of one series in one version, one per slot
    of its cadence (a slot stored by another collector is kept); the number of new rows."""
    frame = pl.concat(frames, how="diagonal_relaxed")
    frame = frame.select("local_timestamp", pl.exclude("local_timestamp"))
    times = frame["local_timestamp"].dt.epoch("ms")
    slot_ms = int(series.every_seconds * 1000)
    start, end = times.min() // slot_ms * slot_ms, (times.max() // slot_ms + 1) * slot_ms
    written = store.write(series, frame, start, end, LIBRARY_OF[series.data], slot_ms)
    return written.rows_written


async def _parsed(answer):
    """ccxt's parse of a broken body can fail outside its own errors (AttributeError on a
    bogus tickers list): that is a bad answer to retry, not a reason to stop collecting."""
    try:
        return await answer
    except ccxt.BaseError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise MalformedPage(f"unreadable answer: {type(e).__name__}: {e}") from None


async def slots(every_seconds: float, stop: asyncio.Event):
    """Yield at each slot of the `every_seconds` grid (epoch-aligned) until `stop` is set; a
    slot that passed while the last poll ran is skipped, not caught up."""
    period = every_seconds * 1000
    while not stop.is_set():
        now = _now_ms()
        slot = (now // period + 1) * period
        try:
            await asyncio.wait_for(stop.wait(), (slot - now) / 1000)
            return
        except TimeoutError:
            yield int(slot)


def _now_ms() -> int:
    return int(time.time() * 1000)
