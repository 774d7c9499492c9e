"""Streamed candles, stored as soon as the stream shows them closed.

ccxt.pro drops the kline's closed flag, so a candle is closed when the next one has started.
Its values are those of its last message, which is the final one only if no connection
dropped in between: on every drop, ccxt's candle cache (and the extra columns read beside it)
is forgotten, so a candle whose close fell in a disconnect is left to the REST candle asset
instead of being stored incomplete. Writes go through the candle store like REST candles, so
they invalidate the indicators they change.
"""

from __future__ import annotations

import asyncio

import polars as pl

from ..config import Series
from ..storage.schema import CANDLE_SCHEMA, CANDLES
from ..storage.store import CandleStore
from .connection import Connections, now_ms
from .state import Counts


class CandleStream:
    """The candles of one exchange's streamed markets, every timeframe of each."""

    def __init__(self, exchange, series: list[Series], connections: Connections) -> None:
        self.exchange, self.connections = exchange, connections
        self.series = {(s.symbol, s.timeframe.name): s for s in series}
        self.counts = {key: Counts() for key in self.series}
        self.stored: dict[tuple[str, str], int] = {}  # last open time taken, per series
        self.pending: dict[tuple[str, str], list[list]] = {key: [] for key in self.series}

    def dropped(self) -> None:
        """Forget every candle seen before a drop: its last message may not be its final one."""
        self.exchange.ohlcvs = {}
        self.connections.kline_extras.clear()

    def handle(self, _answer) -> None:
        """After any candle message: take every candle followed by a later one."""
        now = now_ms()
        for (symbol, tf), series in self.series.items():
            cache = ((self.exchange.ohlcvs or {}).get(symbol) or {}).get(tf)
            if not cache:
                continue
            candles = sorted(list(c) for c in cache)
            newest = candles[-1][0]
            counts = self.counts[(symbol, tf)]
            counts.last_message_ms = now
            taken = self.stored.get((symbol, tf), -1)
            closed = [c for c in candles if taken < c[0] < newest]
            if closed:
                self.pending[(symbol, tf)] += [self._row(series, c) for c in closed]
                self.stored[(symbol, tf)] = closed[-1][0]
                counts.lag_ms = now - (closed[-1][0] + series.timeframe.ms)

    def _row(self, series: Series, candle: list) -> list:
        market_id = self.exchange.market_id(series.symbol)
        interval = self.exchange.timeframes.get(series.timeframe.name, series.timeframe.name)
        extras = self.connections.kline_extras.pop((market_id, interval, int(candle[0])), {})
        return [*candle[:6], extras.get("quote_volume"), extras.get("trades")]

    async def flush(self, store: CandleStore) -> None:
        for key, rows in self.pending.items():
            if not rows:
                continue
            self.pending[key] = []
            series = self.series[key]
            frame = pl.DataFrame(rows, schema=list(CANDLE_SCHEMA), orient="row", strict=False)
            frame = frame.with_columns(pl.col("open_time").cast(pl.Int64)).cast(CANDLE_SCHEMA)
            lo = int(frame["open_time"].dt.epoch("ms").min())
            hi = int(frame["open_time"].dt.epoch("ms").max()) + series.timeframe.ms
            try:
                written = await asyncio.to_thread(store.write, series, frame, lo, hi, CANDLES)
            except Exception as e:  # kept for the next flush
                self.pending[key] = rows + self.pending[key]
                self.connections.log("write_failed", series=series.name, rows=len(rows), error=e)
                continue
            self.counts[key].rows_written += written.rows_written
