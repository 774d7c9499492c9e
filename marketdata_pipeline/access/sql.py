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
    CANDLE_SCHEMA,
    CANDLES,
    INDICATOR_COLUMNS,
    INDICATORS,
    TRADE_CANDLE_SCHEMA,
    TRADE_CANDLES,
    TRADE_SCHEMA,
    TRADES,
)
from ..storage.store import CandleStore
from .duck import connect, duck
from .sql_plan import Filter, keys_of, plan

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    CANDLES: CANDLE_SCHEMA,
    INDICATORS: {
        "open_time": CANDLE_SCHEMA["open_time"],
        **dict.fromkeys(INDICATOR_COLUMNS, pl.Float64()),
    },
    TRADES: TRADE_SCHEMA,
    TRADE_CANDLES: TRADE_CANDLE_SCHEMA,
}


def sources(config: LoadedConfig) -> dict[str, list[Series]]:
    """The series behind each table: trades per market that collects them, and candles built
    from trades for every timeframe of such a market."""
    built = [s for s in config.series if s.from_trades]
    return {
        CANDLES: config.series,
        INDICATORS: config.series,
        TRADES: config.trade_series,
        TRADE_CANDLES: built,
    }


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
    """Run one statement over the tables `candles`, `indicators`, `trades` and
    `trade_candles` of the configured series."""
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
    frames = [pl.DataFrame(schema=dict.fromkeys(keys, pl.String()) | SCHEMAS[table])]
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
