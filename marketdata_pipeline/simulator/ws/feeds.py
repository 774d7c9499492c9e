"""One feed per stream name: what it has sent so far, and the events due at a simulated time.

Feeds are shared by every connection subscribed to the stream and polled on the event loop as
the simulator's clock moves, so every subscriber sees the same events and the same update ids.
"""

from __future__ import annotations

from collections.abc import Callable

from marketdata_pipeline.simulator import book, ticker
from marketdata_pipeline.simulator.aggregate import Gaps
from marketdata_pipeline.simulator.book import Book
from marketdata_pipeline.simulator.intervals import INTERVALS
from marketdata_pipeline.simulator.klines import format_rows, select_klines
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trade_pages import select_agg_trades, select_raw_trades
from marketdata_pipeline.simulator.trades import Trades
from marketdata_pipeline.simulator.ws import events

DIFF_DEPTH = 1_000
"""Levels per side that depth diffs maintain: ccxt.pro's default snapshot depth. A book built
from a deeper snapshot is exact in its top 1,000 levels only."""
_PAGE = 1_000


class Feed:
    """A stream's state; ``poll(now, gaps)`` returns the event texts due since the last poll."""

    period_ms = 100
    """Wall-clock time between two polls (Binance's update speed)."""

    def poll(self, now: int, gaps: Gaps) -> list[str]:
        raise NotImplementedError


class TradeFeed(Feed):
    """``@trade`` / ``@aggTrade``: every visible trade after the subscription, in id order, as
    the REST trade endpoints serve them (a maintenance gap stays a hole in the ids)."""

    def __init__(self, spec: MarketSpec, agg: bool, now: int) -> None:
        self.spec, self.agg = spec, agg
        latest = self._select(None, 1, now, ())
        self.cursor = int(latest.id[-1]) + 1 if len(latest) else 0

    def _select(self, from_id: int | None, limit: int, now: int, gaps: Gaps) -> Trades:
        if self.agg:
            return select_agg_trades(self.spec, from_id, None, limit, now, gaps)
        return select_raw_trades(self.spec, from_id, limit, now, gaps)

    def poll(self, now: int, gaps: Gaps) -> list[str]:
        out: list[str] = []
        while True:
            page = self._select(self.cursor, _PAGE, now, gaps)
            if not len(page):
                return out
            out += events.trade_events(self.spec, page, now, self.agg)
            self.cursor = int(page.id[-1]) + 1
            if len(page) < _PAGE:
                return out


class KlineFeed(Feed):
    """``@kline_<interval>``: the candle in progress whenever its trade count grows, and each
    candle once more when it closes (``x`` true), with exactly the REST kline's values. Polled
    every 250 ms (Binance: 2 s), so a fast clock still shows candles filling up."""

    period_ms = 250

    def __init__(self, spec: MarketSpec, interval: str, now: int) -> None:
        self.spec, self.interval = spec, INTERVALS[interval]
        self.open, self.count = int(self.interval.floor(now)), -1

    def poll(self, now: int, gaps: Gaps) -> list[str]:
        iv, spec, current = self.interval, self.spec, int(self.interval.floor(now))
        candles = select_klines(spec, iv, self.open, None, _PAGE, now, gaps)
        rows = format_rows(spec, iv, candles)
        out, count = [], -1
        for row, open_ms, trades in zip(
            rows, candles.time.tolist(), candles.trades.tolist(), strict=True
        ):
            closed = open_ms < current
            if not closed:
                count = trades
                if open_ms == self.open and trades == self.count:
                    continue
            close_ms = iv.next_open(open_ms) - 1
            first = select_agg_trades(spec, None, (open_ms, close_ms), 1, now, gaps)
            last = select_agg_trades(spec, None, None, 1, min(now, close_ms), gaps)
            first_id, last_id = int(first.first[0]), int(last.last[0])
            out.append(events.kline_event(spec, iv.name, row, first_id, last_id, closed, now))
        self.open, self.count = current, count
        return out


class DepthFeed(Feed):
    """``@depth`` (every second) / ``@depth@100ms``: diffs from update id ``U`` to ``u``.

    Each event carries every level that differs between the book at ``u`` and any book a client
    may hold at ``U - 1 .. u - 1``: the previous event's, or a REST snapshot served in between
    (``snapshots`` returns the ids served for this market), so a book built from any snapshot
    plus the events after it equals ``book_at(spec, u)``.
    """

    def __init__(
        self, spec: MarketSpec, period_ms: int, now: int, snapshots: Callable[[], list[int]]
    ) -> None:
        self.spec, self.period_ms, self.snapshots = spec, period_ms, snapshots
        self.skip = 0
        """Events the hub is to withhold (their ids are never sent): a gap clients detect."""
        self.last = self._book(book.update_id_at(spec, now), now)

    def _book(self, update_id: int, now: int) -> Book:
        return book.book_at(self.spec, update_id, DIFF_DEPTH, now_ms=now)

    def poll(self, now: int, gaps: Gaps) -> list[str]:
        update_id = book.update_id_at(self.spec, now)
        if update_id == self.last.update_id:
            return []
        new = self._book(update_id, now)
        first = self.last.update_id + 1
        olds = [self.last] + [
            self._book(s, now) for s in set(self.snapshots()) if first <= s < update_id
        ]
        self.last = new
        return [events.depth_event(self.spec, first, new, olds, now)]


class TickerFeed(Feed):
    """``@ticker`` / ``@miniTicker`` of one market, or ``!ticker@arr`` / ``!miniTicker@arr`` of
    all (one array), every second: the REST ``ticker/24hr`` figures at that time."""

    period_ms = 1_000

    def __init__(self, specs: list[MarketSpec], mini: bool, array: bool) -> None:
        self.specs, self.mini, self.array = specs, mini, array

    def poll(self, now: int, gaps: Gaps) -> list[str]:
        rows = [
            events.ticker_event(ticker.ticker(spec, now, gaps), now, self.mini)
            for spec in self.specs
            if spec.trading(now)
        ]
        if not rows:
            return []
        return [events.dumps(rows if self.array else rows[0])]
