"""A series: what one stored candle series is, independent of where the config came from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ..timeframes import Timeframe


@dataclass(frozen=True)
class Series:
    """One stored series from its start date: the candles of (exchange, symbol, timeframe),
    or with `data="trades"` the trades of (exchange, symbol), kept current minute by minute
    (its timeframe) in day partitions; `order_book` and `ticker` series are snapshots polled
    every `every_seconds`, stored a day per partition."""

    exchange: str
    symbol: str
    timeframe: Timeframe
    start: date
    schedule: str | None = None
    partition_override: str | None = None
    data: str = "candles"
    from_trades: bool = False  # candles are also built from the market's trades
    every_seconds: float | None = None  # polled data (books, tickers): one snapshot per period
    depth: int | None = None  # order books: levels per side

    @property
    def partition(self) -> str:
        """The window of one Dagster partition: the config's choice, else sized by volume."""
        return self.partition_override or self.timeframe.partition

    @property
    def market_slug(self) -> str:
        return market_slug(self.symbol)

    @property
    def name(self) -> str:
        last = self.timeframe.name if self.data == "candles" else self.data
        return f"{self.exchange}/{self.market_slug}/{last}"

    @property
    def label(self) -> str:
        """How messages name the series: `binance BTC/USDT 1m`, `binance BTC/USDT trades`."""
        last = self.timeframe.name if self.data == "candles" else self.data
        return f"{self.exchange} {self.symbol} {last}"

    @property
    def start_ms(self) -> int:
        return int(
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()
            * 1000
        )


def market_slug(symbol: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", symbol.lower()).strip("_")
