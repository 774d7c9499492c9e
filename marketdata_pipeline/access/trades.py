"""Reading stored trades: which series hold a market's trades, and a page of them at a time.

Trades are stored in (timestamp, id) order and several can share a millisecond, so a page's
cursor is its last trade's time *and* id: a time alone would skip or repeat the trades that
share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from ..config import ConfigError, LoadedConfig, Series
from ..storage.schema import TRADES
from ..storage.store import CandleStore, empty_frame
from ..timeframes import from_ms, parse_time


class NoTrades(ConfigError):
    """A configured market that does not collect trades."""


def trade_series(config: LoadedConfig, exchange: str, symbol: str) -> Series:
    """The trades of a configured market; NoTrades naming the fix if it collects none."""
    market = config.select(exchange, symbol)[0]
    if not market.from_trades:
        raise NoTrades(
            f"{market.exchange} {market.symbol} collects no trades; set `trades: true` on"
            f" exchanges[{market.exchange}].markets[{market.symbol}] in {config.path}, then sync"
        )
    return config.trades_of(market)


def trade_candle_series(config: LoadedConfig, exchange: str, symbol: str, timeframe: str) -> Series:
    """The candle series whose candles built from trades are asked for (stored under its name)."""
    series = config.select(exchange, symbol, timeframe)[0]
    trade_series(config, exchange, symbol)
    return series


@dataclass(frozen=True)
class TradeCursor:
    """Where a page of trades ended: its last trade's time (epoch ms) and id, as `id@time`."""

    ms: int
    id: int

    def __str__(self) -> str:
        when = from_ms(0) + timedelta(milliseconds=self.ms)
        return f"{self.id}@{when.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}"

    @classmethod
    def parse(cls, text: str) -> TradeCursor:
        trade_id, _, when = text.partition("@")
        try:
            return cls(parse_time(when, "after"), int(trade_id))
        except ValueError:
            raise ValueError(
                f"after: {text!r} is not a cursor; pass `next_after` of the previous page"
                " (`<trade id>@<ISO time>`)"
            ) from None


def read_trade_page(
    store: CandleStore,
    series: Series,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    after: TradeCursor | None = None,
) -> tuple[pl.DataFrame, TradeCursor | None]:
    """Up to `limit` trades of [start, end) after the cursor, and the next cursor if more follow.

    Reads the trades left in the cursor's millisecond, then the index of the next ones, so a
    page costs the same anywhere in a long history.
    """
    parts = []
    if after is not None and (start_ms is None or after.ms >= start_ms):
        if end_ms is None or after.ms < end_ms:
            same = store.read(series, after.ms, after.ms + 1, TRADES)
            parts.append(same.filter(pl.col("id") > after.id))
        start_ms = after.ms + 1
    wanted = limit + 1 - sum(p.height for p in parts)  # one more tells whether more follow
    if wanted > 0 and (None in (start_ms, end_ms) or start_ms < end_ms):
        times = store.open_times(series, start_ms, end_ms, TRADES, limit=wanted)
        if times.len():  # up to the last of those, with every trade sharing its millisecond
            parts.append(store.read(series, start_ms, int(times[-1]) + 1, TRADES))
    frame = pl.concat(parts) if parts else empty_frame(TRADES)
    if frame.height <= limit:
        return frame, None
    page = frame.head(limit)
    return page, TradeCursor(int(page["timestamp"].dt.epoch("ms")[-1]), int(page["id"][-1]))
