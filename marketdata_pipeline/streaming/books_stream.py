"""Streamed order books and tickers, stored as snapshots on the configured cadence.

ccxt.pro keeps each local book: a REST snapshot (through the shared budget) plus the diff
stream, checked update id by update id; on a sequence break it raises and drops the book, and
the next watch call subscribes again and rebuilds it from a fresh snapshot (a resync, counted
and logged). A book is in sync from the answer that delivers it until its connection drops or
its sequence breaks: snapshots are taken only in between, with the book's update id (nonce),
so each stored snapshot is the exchange's book at that id.
"""

from __future__ import annotations

import asyncio
from collections import deque

import ccxt
import polars as pl

from ..books.layout import snapshot_rows, ticker_rows
from ..config import Series
from ..storage.store import CandleStore
from .collector import slots, store_snapshots
from .connection import EventLog, now_ms
from .state import Counts


class Snapshots:
    """Buffered snapshot rows of one series (bounded: the oldest go first, counted)."""

    def __init__(self, series: Series, log: EventLog, capacity: int = 10_000) -> None:
        self.series, self.log = series, log
        self.rows: deque[pl.DataFrame] = deque()
        self.capacity = capacity
        self.counts = Counts()

    def add(self, frame: pl.DataFrame) -> None:
        if len(self.rows) >= self.capacity:
            self.rows.popleft()
            self.counts.dropped += 1
            self.log("overflow", series=self.series.name, dropped=1)
        self.rows.append(frame)

    async def flush(self, store: CandleStore) -> None:
        if not self.rows:
            return
        frames = list(self.rows)
        self.rows.clear()
        try:
            self.counts.rows_written += await asyncio.to_thread(
                store_snapshots, store, self.series, frames
            )
        except Exception as e:  # kept for the next flush: a snapshot cannot be fetched again
            self.rows.extendleft(reversed(frames))
            self.log("write_failed", series=self.series.name, rows=len(frames), error=e)


class BookStream:
    """The order books of one exchange's streamed markets."""

    def __init__(self, exchange, series: list[Series], log: EventLog) -> None:
        self.exchange, self.log = exchange, log
        self.books = {s.symbol: Snapshots(s, log) for s in series}
        self.in_sync: set[str] = set()

    def handle(self, book) -> None:
        """A watch answer: this book is in sync (its snapshot and every diff since applied)."""
        symbol = book.get("symbol")
        if symbol not in self.books:
            return
        self.in_sync.add(symbol)
        counts = self.books[symbol].counts
        counts.last_message_ms = now = now_ms()
        if book.get("timestamp"):
            counts.lag_ms = now - int(book["timestamp"])

    def dropped(self) -> None:
        """A connection dropped: no book is known in sync until it is delivered again."""
        self.in_sync.clear()

    def failed(self, error: BaseException) -> None:
        """A sequence break drops ccxt's book (the next watch resyncs it); any other error
        leaves none known in sync."""
        held = getattr(self.exchange, "orderbooks", {}) or {}
        lost = [s for s in self.books if s not in held] or list(self.books)
        for symbol in lost:
            self.in_sync.discard(symbol)
            if isinstance(error, ccxt.InvalidNonce):  # ccxt's ChecksumError among them
                self.books[symbol].counts.resyncs += 1
                self.log("resync", series=self.books[symbol].series.name, reason=error)

    async def snapshots(self, series: Series, stop: asyncio.Event) -> None:
        """Take a snapshot of the book at each slot of its cadence, if it is in sync."""
        async for _ in slots(series.every_seconds, stop):
            book = (self.exchange.orderbooks or {}).get(series.symbol)
            if series.symbol not in self.in_sync or book is None or book.get("nonce") is None:
                continue
            self.books[series.symbol].add(snapshot_rows([book], series.depth, now_ms()))


class TickerStream:
    """The 24-hour tickers of one exchange's streamed markets, one row per slot."""

    def __init__(self, series: list[Series], log: EventLog) -> None:
        self.tickers = {s.symbol: Snapshots(s, log) for s in series}
        self.latest: dict[str, dict] = {}

    def handle(self, tickers) -> None:
        now = now_ms()
        for symbol, ticker in (tickers or {}).items():
            if symbol in self.tickers and isinstance(ticker, dict):
                self.latest[symbol] = ticker
                counts = self.tickers[symbol].counts
                counts.last_message_ms = now
                if ticker.get("timestamp"):
                    counts.lag_ms = now - int(ticker["timestamp"])

    def dropped(self) -> None:
        self.latest.clear()

    async def snapshots(self, every_seconds: float, stop: asyncio.Event) -> None:
        """At each slot, the tickers received since the last one (none: no row invented)."""
        async for _ in slots(every_seconds, stop):
            fresh, self.latest = self.latest, {}
            if not fresh:
                continue
            frame = ticker_rows(fresh, now_ms())
            for (symbol,), rows in frame.partition_by("symbol", as_dict=True).items():
                self.tickers[symbol].add(rows.drop("symbol"))
