"""The Python API for notebooks and scripts: stored candles, indicators and SQL, read-only.

It reads what the pipeline stored and never fetches, so analysis cannot spend an exchange's
request budget or race the writers (ArcticDB readers see whole versions only).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ..config import Series, load_config
from ..storage.schema import INDICATOR_COLUMNS, INDICATORS
from ..storage.store import CandleStore, store_for
from ..timeframes import parse_time

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
        """Every configured series with its first and last stored candle and row count."""
        rows = []
        for s in self.config.series:
            summary = self.store.summary(s)
            rows.append(
                {
                    "exchange": s.exchange,
                    "symbol": s.symbol,
                    "timeframe": s.timeframe.name,
                    "start": s.start,
                    "first": _utc(summary.first),
                    "last": _utc(summary.last),
                    "rows": summary.rows,
                }
            )
        stamp = pl.Datetime("ms", "UTC")
        schema = {"exchange": pl.String, "symbol": pl.String, "timeframe": pl.String}
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
    ) -> pl.DataFrame:
        """Candles with start <= open_time < end, optionally with their indicator columns.

        Naive datetimes and dates are UTC. Indicators are joined on open_time and are null
        where they are not computed yet.
        """
        series = self.select(exchange, symbol, timeframe)
        start_ms, end_ms = parse_time(start, "start"), parse_time(end, "end")
        if None not in (start_ms, end_ms) and start_ms >= end_ms:
            raise ValueError(
                f"start {start} is not before end {end}; start is inclusive, end exclusive"
            )
        frame = self.store.read(series, start_ms, end_ms)
        if not indicators:
            return frame
        values = self.store.read(series, start_ms, end_ms, library=INDICATORS)
        if values.is_empty():
            return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in INDICATOR_COLUMNS)
        columns = values.select("open_time", *INDICATOR_COLUMNS)
        return frame.join(columns, on="open_time", how="left")

    def sql(self, query: str) -> pl.DataFrame:
        """One DuckDB query over the tables `candles` and `indicators` of every series.

        Both have the columns exchange, symbol, timeframe and open_time; filters on them decide
        what is read from storage (see `last_scan` for how much was). DuckDB is imported here,
        so reading candles does not pay for it.
        """
        from .sql import run_sql

        self.last_scan = run_sql(self.store, self.config.series, query)
        return self.last_scan.frame

    def select(self, exchange: str, symbol: str, timeframe: str) -> Series:
        """The configured series, symbol case-insensitive; ConfigError if none matches."""
        return self.config.select(exchange, symbol, timeframe)[0]


def _utc(stamp) -> datetime | None:
    if stamp is None:
        return None
    stamp = stamp.to_pydatetime()
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)
