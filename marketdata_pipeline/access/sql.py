"""SQL over every stored series: DuckDB in memory over Arrow tables read from ArcticDB.

A DuckDB database file admits one writer process at a time while the pipeline writes from many,
so nothing is written to disk: each query gets its own connection to an in-memory database, in
a transaction never committed, so no other query sees what it registers or creates. Reading all
storage per query would not scale, so `sql_plan` first works out which series and time range
the query can see; the query applies its own WHERE again, so that changes speed, never results.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..config import LoadedConfig, Series
from ..storage.schema import (
    BOOK_METRICS,
    CANDLE_SCHEMA,
    CANDLES,
    INDICATOR_COLUMNS,
    INDICATORS,
    ORDER_BOOKS,
    SCHEMAS,
    TICKERS,
    TRADE_CANDLES,
    TRADES,
)
from ..storage.store import CandleStore
from .books import stored_book_schema
from .duck import connect, duck
from .sql_plan import Filter, keys_of, plan

INDICATOR_SCHEMA = {
    "open_time": CANDLE_SCHEMA["open_time"],
    **dict.fromkeys(INDICATOR_COLUMNS, pl.Float64()),
}


def sources(config: LoadedConfig) -> dict[str, list[Series]]:
    """The series behind each table: trades per market that collects them, candles built from
    trades for every timeframe of such a market, books (and their metrics) and tickers per
    market that collects them."""
    books = [s for s in config.polled_series if s.data == "order_book"]
    return {
        CANDLES: config.series,
        INDICATORS: config.series,
        TRADES: config.trade_series,
        TRADE_CANDLES: [s for s in config.series if s.from_trades],
        ORDER_BOOKS: books,
        BOOK_METRICS: books,
        TICKERS: [s for s in config.polled_series if s.data == "ticker"],
    }


def table_schema(table: str, series: list[Series]) -> dict[str, pl.DataType]:
    """A table's columns after its keys: order_books has the levels of its deepest book."""
    if table == ORDER_BOOKS:
        return stored_book_schema(max((s.depth for s in series), default=0))
    return INDICATOR_SCHEMA if table == INDICATORS else SCHEMAS[table]


@dataclass(frozen=True)
class Read:
    table: str
    series: str
    start_ms: int | None
    end_ms: int | None
    rows: int


@dataclass(frozen=True)
class SqlResult:
    """The answer plus what was read from ArcticDB to compute it."""

    frame: pl.DataFrame
    reads: tuple[Read, ...]

    @property
    def rows_read(self) -> int:
        return sum(r.rows for r in self.reads)

    @property
    def series_read(self) -> int:
        return len({r.series for r in self.reads})


def run_sql(store: CandleStore, config: LoadedConfig, query: str) -> SqlResult:
    """Run one statement over the tables `candles`, `indicators`, `trades`, `trade_candles`,
    `order_books`, `book_metrics` and `tickers` of the configured series."""
    con = connect()
    try:
        con.execute("BEGIN TRANSACTION")  # closing without commit drops what the query created
        reads: list[Read] = []
        series = sources(config)
        for table, filters in plan(query, con).items():
            frame, table_reads = _load(store, series[table], table, filters)
            con.register(table, frame.to_arrow())
            reads += table_reads
        relation = duck(con.sql, query)
        frame = duck(relation.pl) if relation is not None else pl.DataFrame()
        return SqlResult(frame, tuple(reads))
    finally:
        con.close()


def _load(
    store: CandleStore, series: list[Series], table: str, filters: list[Filter]
) -> tuple[pl.DataFrame, list[Read]]:
    """The table's rows every filter may need: per series, the hull of the ranges admitting it."""
    keys = keys_of(table)
    frames = [pl.DataFrame(schema=dict.fromkeys(keys, pl.String()) | table_schema(table, series))]
    reads = []
    for s in series:
        wanted = [f for f in filters if f.admits(s)]
        if not wanted:
            continue
        starts, ends = [f.start_ms for f in wanted], [f.end_ms for f in wanted]
        start = None if None in starts else min(starts)
        end = None if None in ends else max(ends)
        frame = store.read(s, start, end, library=table)
        reads.append(Read(table, s.name, start, end, frame.height))
        if frame.height:
            values = {"exchange": s.exchange, "symbol": s.symbol, "timeframe": s.timeframe.name}
            frames.append(frame.with_columns(pl.lit(values[k]).alias(k) for k in keys))
    merged = pl.concat(frames, how="diagonal_relaxed", rechunk=False)
    return merged.select(frames[0].columns), reads
