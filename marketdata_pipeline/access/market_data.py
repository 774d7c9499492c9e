"""The Python API for notebooks and scripts: stored candles, indicators, trades, order books,
tickers and SQL, read-only.

It reads what the pipeline stored and never fetches, so analysis cannot spend an exchange's
request budget or race the writers (ArcticDB readers see whole versions only).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ..config import Series, load_config
from ..storage.schema import (
    INDICATOR_COLUMNS,
    INDICATORS,
    LIBRARY_OF,
    ORDER_BOOKS,
    TRADE_CANDLES,
)
from ..storage.store import CandleStore, store_for
from ..timeframes import parse_time
from .books import book_frame, checked_depth
from .markets import market_series, trade_candle_series

if TYPE_CHECKING:
    from .sql import SqlResult


class MarketData:
    """Stored market data of the project configured at `config_path`.

    `config_path=None` means `$MARKETDATA_CONFIG`, else `./marketdata.yaml`, as for the CLI.
    """

    def __init__(self, config_path: str | Path | None = None) -> None:
        self.config = load_config(config_path)
        self.store: CandleStore = store_for(self.config)
        self.last_scan: SqlResult | None = None

    def series(self) -> pl.DataFrame:
        """Every configured series, candles then trades, order books and tickers (`data`; no
        timeframe), with its first and last stored row (candle, trade or snapshot) and row
        count."""
        rows = []
        for s in self.config.all_series:
            summary = self.store.summary(s, LIBRARY_OF[s.data])
            rows.append(
                {
                    "exchange": s.exchange,
                    "symbol": s.symbol,
                    "timeframe": s.timeframe.name if s.data == "candles" else None,
                    "data": s.data,
                    "start": s.start,
                    "first": _utc(summary.first),
                    "last": _utc(summary.last),
                    "rows": summary.rows,
                }
            )
        stamp = pl.Datetime("ms", "UTC")
        schema = dict.fromkeys(("exchange", "symbol", "timeframe", "data"), pl.String)
        schema |= {"start": pl.Date, "first": stamp, "last": stamp, "rows": pl.Int64}
        return pl.DataFrame(rows, schema=schema)

    def candles(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start: str | datetime | date | None = None,
        end: str | datetime | date | None = None,
        indicators: bool = False,
        from_trades: bool = False,
    ) -> pl.DataFrame:
        """Candles with start <= open_time < end, optionally with their indicator columns.

        Naive datetimes and dates are UTC. Indicators are joined on open_time and are null
        where they are not computed yet. `from_trades` gives the candles built from the
        market's trades instead (with taker buy volumes; a minute without trades has zero
        volume and null prices); indicators belong to the exchange's candles, not to those.
        """
        if from_trades and indicators:
            raise ValueError(
                "indicators are computed from the exchange's candles; ask for from_trades or"
                " indicators, not both"
            )
        start_ms, end_ms = _range(start, end)
        if from_trades:
            series = trade_candle_series(self.config, exchange, symbol, timeframe)
            return self.store.read(series, start_ms, end_ms, library=TRADE_CANDLES)
        series = self.select(exchange, symbol, timeframe)
        frame = self.store.read(series, start_ms, end_ms)
        if not indicators:
            return frame
        values = self.store.read(series, start_ms, end_ms, library=INDICATORS)
        if values.is_empty():
            return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in INDICATOR_COLUMNS)
        columns = values.select("open_time", *INDICATOR_COLUMNS)
        return frame.join(columns, on="open_time", how="left")

    def trades(
        self,
        exchange: str,
        symbol: str,
        start: str | datetime | date | None = None,
        end: str | datetime | date | None = None,
    ) -> pl.DataFrame:
        """The market's stored trades with start <= timestamp < end, in (timestamp, id) order.

        ConfigError if the market does not collect trades (`trades: true` in the config).
        """
        return self._market_rows("trades", exchange, symbol, start, end)

    def order_book(
        self,
        exchange: str,
        symbol: str,
        start: str | datetime | date | None = None,
        end: str | datetime | date | None = None,
        depth: int | None = None,
        metrics: bool = False,
    ) -> pl.DataFrame:
        """The market's book snapshots with start <= local_timestamp (receive time) < end.

        Columns: local_timestamp, timestamp (the exchange's, null where it gives none),
        update_id, then bid_price_i, bid_amount_i, ask_price_i, ask_amount_i for the levels
        i < depth (default: all configured; 0 keeps none). `metrics` adds each snapshot's
        liquidity metrics (mid, spread, spread_bps, microprice, imbalances, depth within 10/50/100
        bps), null for snapshots the daily book_metrics asset has not computed yet.
        ConfigError if the market has no `order_book:` in the config.
        """
        start_ms, end_ms = _range(start, end)
        series = market_series(self.config, exchange, symbol, "order_book")
        depth = checked_depth(series, depth)
        snapshots = self.store.read(series, start_ms, end_ms, library=ORDER_BOOKS)
        return book_frame(self.store, series, snapshots, depth, metrics)

    def tickers(
        self,
        exchange: str,
        symbol: str,
        start: str | datetime | date | None = None,
        end: str | datetime | date | None = None,
    ) -> pl.DataFrame:
        """The market's 24-hour tickers with start <= local_timestamp (receive time) < end.

        ConfigError if the market does not collect them (`ticker: true` in the config).
        """
        return self._market_rows("ticker", exchange, symbol, start, end)

    def _market_rows(self, data: str, exchange: str, symbol: str, start, end) -> pl.DataFrame:
        start_ms, end_ms = _range(start, end)
        series = market_series(self.config, exchange, symbol, data)
        return self.store.read(series, start_ms, end_ms, library=LIBRARY_OF[data])

    def sql(self, query: str) -> pl.DataFrame:
        """One DuckDB query over the tables `candles`, `indicators`, `trades`,
        `trade_candles`, `order_books`, `book_metrics` and `tickers` of every series.

        They have the columns exchange, symbol, timeframe (candles only) and a time (open_time;
        a trade's timestamp; a snapshot's or ticker's local_timestamp); filters on them decide
        what is read from storage (see `last_scan` for how much was). DuckDB is imported here,
        so reading candles does not pay for it.
        """
        from .sql import run_sql

        self.last_scan = run_sql(self.store, self.config, query)
        return self.last_scan.frame

    def select(self, exchange: str, symbol: str, timeframe: str) -> Series:
        """The configured series, symbol case-insensitive; ConfigError if none matches."""
        return self.config.select(exchange, symbol, timeframe)[0]


def _range(start, end) -> tuple[int | None, int | None]:
    start_ms, end_ms = parse_time(start, "start"), parse_time(end, "end")
    if None not in (start_ms, end_ms) and start_ms >= end_ms:
        raise ValueError(
            f"start {start} is not before end {end}; start is inclusive, end exclusive"
        )
    return start_ms, end_ms


def _utc(stamp) -> datetime | None:
    if stamp is None:
        return None
    stamp = stamp.to_pydatetime()
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)
