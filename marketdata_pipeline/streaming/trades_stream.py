"""Streamed trades, written to the REST history's series so that it stays the exchange's history.

Trades arrive over the socket into a bounded buffer (the reader never waits for the store) and
are written about once a second. Before any write, the ids must follow on from the last one
written (or, on start, the last one stored): a hole, whatever made it (a reconnect, a message
lost, an overflowing buffer, a kill -9 before the last flush), is fetched over REST by id
first, and one the exchange serves twice is recorded as a gap, as the REST ingest does. What
is contiguous is recorded as covered, so the REST trades asset does not fetch it again.
"""

from __future__ import annotations

import asyncio

import polars as pl

from ..config import Series
from ..exchange.client import ExchangeClient
from ..exchange.errors import FetchError
from ..exchange.quirks import RAW_TRADES
from ..exchange.trades import empty_trades, parse_raw_trades, trades_by_id, unified_trades
from ..storage.schema import TRADES
from ..storage.store import CandleStore
from .connection import EventLog, now_ms
from .state import Counts

# Ids a flush repairs at most: a hole of a long outage (a day of trades is millions) is
# fetched and written a chunk a flush, in bounded memory, not held whole.
REPAIR_CHUNK = 100_000


class TradeStream:
    """One market's streamed trades: buffered, made contiguous by REST, written."""

    def __init__(
        self,
        series: Series,
        store: CandleStore,
        client: ExchangeClient,
        log: EventLog,
        capacity: int = 100_000,
    ) -> None:
        self.series, self.store, self.client, self.log = series, store, client, log
        self.capacity = capacity
        self.quirk = RAW_TRADES.get(client.connector.id)
        self.pending: list[pl.DataFrame] = []
        self.held = 0
        self.counts = Counts()
        self.last_id: int | None = None  # every id up to it is stored
        self.owed: int | None = None  # the highest id a full buffer refused
        self.run_start: int | None = None  # coverage of this run starts here (ms)

    def start(self) -> None:
        """Resume after the last stored trade: whatever came after it is repaired first."""
        summary = self.store.summary(self.series, TRADES)
        if summary.last_ms is None:
            return
        last = self.store.read(self.series, summary.last_ms, summary.last_ms + 1, TRADES)
        self.last_id = int(last["id"].max())
        self.run_start = summary.last_ms + 1

    def offer(self, trades: list[dict]) -> None:
        """From the socket reader: never blocks; an overflow is dropped, and its ids are
        fetched over REST at the next write like any other hole."""
        if not trades:
            return
        frame = self._parse(trades)
        self.counts.last_message_ms = now = now_ms()
        self.counts.lag_ms = now - int(frame["timestamp"].dt.epoch("ms").max())
        if self.held + frame.height > self.capacity:
            self.counts.dropped += frame.height
            self.owed = max(self.owed or 0, int(frame["id"].max()))
            if self.last_id is None and not self.pending:  # dropped from the very start
                self._begin(frame.sort("id"))
            self.log("overflow", series=self.series.name, dropped=frame.height, repair="rest")
            return
        self.pending.append(frame)
        self.held += frame.height

    def _begin(self, frame: pl.DataFrame) -> None:
        """Nothing stored: the stream starts with `frame`'s first trade."""
        self.last_id = int(frame["id"][0]) - 1
        self.run_start = int(frame["timestamp"].dt.epoch("ms")[0]) + 1

    def _parse(self, trades: list[dict]) -> pl.DataFrame:
        """The exchange's own fields where REST reads them raw, so both store the same rows."""
        if self.quirk is not None:
            return parse_raw_trades([t["info"] for t in trades], self.quirk)
        return unified_trades(trades)

    async def flush(self) -> None:
        """Write what is contiguous with the stored trades, repairing holes over REST first;
        trades beyond a hole REST cannot close yet wait for the next flush."""
        if not self.pending and (self.owed or 0) <= (self.last_id or 0):
            return
        frame = pl.concat(self.pending) if self.pending else empty_trades()
        frame = frame.unique("id", keep="first").sort("id")
        self.pending, self.held = [], 0
        if frame.height and (self.last_id is None or self.quirk is None):
            self._begin(frame)  # nothing stored (or no ids to repair by): start here
        frame = frame.filter(pl.col("id") > self.last_id)
        holes = _holes(frame["id"], self.last_id + 1, self.owed) if self.quirk else []
        parts, gaps, frontier = [], [], self.last_id
        for lo, hole_end in holes:
            hi = min(hole_end, lo + REPAIR_CHUNK)
            try:
                fetched, confirmed, top = await trades_by_id(self.client, self.series, lo, hi)
            except FetchError as e:
                self.log("repair_failed", series=self.series.name, ids=f"{lo}-{hi - 1}", error=e)
                top = lo - 1
            closed = top == hi - 1
            if closed:
                parts.append(fetched)
                gaps += confirmed
                self.counts.gaps_repaired += 1 if hi == hole_end else 0  # a hole once, whole
                self.log(
                    "gap_repaired",
                    series=self.series.name,
                    ids=f"{lo}-{hi - 1}",
                    fetched=fetched.height,
                    confirmed_missing=sum(b - a for a, b in confirmed),
                )
            if not closed or hi < hole_end:  # write up to what is repaired, keep the rest
                cut = hi if closed else lo
                rest = frame.filter(pl.col("id") >= cut)  # before what arrived meanwhile
                self.pending.insert(0, rest)
                self.held += rest.height
                frame = frame.filter(pl.col("id") < cut)
                frontier = cut - 1
                break
        else:
            frontier = max(int(frame["id"].max() or 0), self.owed or 0, self.last_id)
        rows = pl.concat([frame, *parts]).sort("id")
        if rows.height:
            try:
                await asyncio.to_thread(self._write, rows, gaps)
            except Exception as e:  # the next flush starts from the same id: the streamed rows
                self.pending.insert(0, frame)  # are kept, the repaired ones fetched again
                self.held += frame.height
                self.log("write_failed", series=self.series.name, rows=rows.height, error=e)
                return
        self.last_id = frontier

    def _write(self, rows: pl.DataFrame, gaps: list[tuple[int, int]]) -> None:
        times = rows["timestamp"].dt.epoch("ms")
        written = self.store.write(self.series, rows, times.min(), times.max() + 1, TRADES)
        self.counts.rows_written += written.rows_written
        if self.quirk is not None and self.run_start is not None:
            # Trades sharing the last one's millisecond may still come: covered up to it.
            end = int(times.max())
            if end > self.run_start:
                self.store.cover(self.series, TRADES, (self.run_start, end), gaps)


def _holes(ids: pl.Series, expected: int, owed: int | None) -> list[tuple[int, int]]:
    """Id ranges [lo, hi) missing from the sorted unique `ids`, counting from `expected`, up
    to `owed` at least (ids a full buffer refused after the last one held)."""
    holes = []
    for i in [*ids.to_list(), (owed or 0) + 1]:
        if i > expected:
            holes.append((expected, i))
        expected = i + 1
    return holes
