"""The stored shape of books and tickers, and the conversion of ccxt's answers into it.

A book snapshot is one wide row, like Tardis' ``book_snapshot_N``: a fixed set of float64
columns per level, so a day of snapshots is a plain columnar frame that ArcticDB compresses and
polars computes over without exploding nested lists. Levels a book does not have are null.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ..storage.schema import FIELDS, SIDES, TICKER_SCHEMA, book_schema, level_column

# Stored ticker columns and the ccxt ticker field each comes from.
TICKER_FIELDS = {
    "bid": "bid",
    "ask": "ask",
    "bid_volume": "bidVolume",
    "ask_volume": "askVolume",
    "last": "last",
    "open": "open",
    "high": "high",
    "low": "low",
    "base_volume": "baseVolume",
    "quote_volume": "quoteVolume",
    "vwap": "vwap",
    "change_pct": "percentage",
}


def snapshot_rows(books: list[dict], depth: int, local_ms: int | Sequence[int]) -> pl.DataFrame:
    """ccxt order books (`fetch_order_book` results) as wide rows in `book_schema(depth)`.

    `local_ms` is the receive time of all books, or one per book. Each side keeps its best
    `depth` levels; a shorter side leaves the rest null. The exchange's update id is ccxt's
    `nonce` (Binance's `lastUpdateId`). Levels go through one numpy block (side/field, level,
    snapshot), so the per-book work is a single slice assignment per side.
    """
    n = len(books)
    local = [local_ms] * n if isinstance(local_ms, int) else list(local_ms)
    if len(local) != n:
        raise ValueError(f"{len(local)} receive times for {n} books")
    block = np.full((len(SIDES) * len(FIELDS), depth, n), np.nan)
    for j, book in enumerate(books):
        for s, side in enumerate(("bids", "asks")):
            top = [level[:2] for level in book[side][:depth]]
            if top:
                block[2 * s : 2 * s + 2, : len(top), j] = np.array(top, dtype=np.float64).T
    columns = [
        pl.Series("timestamp", [b.get("timestamp") for b in books], pl.Int64),
        pl.Series("local_timestamp", local, pl.Int64),
        pl.Series("update_id", [b.get("nonce") for b in books], pl.Int64),
    ]
    for s, side in enumerate(SIDES):
        for f, field in enumerate(FIELDS):
            columns += [
                pl.Series(level_column(side, field, i), block[2 * s + f, i], nan_to_null=True)
                for i in range(depth)
            ]
    return pl.DataFrame(columns).cast(book_schema(depth))


def ticker_rows(tickers: dict[str, dict], local_ms: int) -> pl.DataFrame:
    """ccxt tickers (`fetch_tickers` results, by symbol) as one frame: `TICKER_SCHEMA`'s columns
    and a last column `symbol`, so one request's answer for many markets stays one frame;
    `partition_by("symbol", as_dict=True)` splits it per stored series. A ticker without an
    exchange timestamp takes the receive time `local_ms`; `local_timestamp` is the receive time
    of all, the time the collector's cadence is judged by."""
    rows = {
        "local_timestamp": [local_ms] * len(tickers),
        "timestamp": [
            local_ms if t.get("timestamp") is None else t["timestamp"] for t in tickers.values()
        ],
        **{c: [t.get(f) for t in tickers.values()] for c, f in TICKER_FIELDS.items()},
        "symbol": list(tickers),
    }
    schema = {
        **TICKER_SCHEMA,
        "local_timestamp": pl.Int64(),
        "timestamp": pl.Int64(),
        "symbol": pl.String(),
    }
    return pl.DataFrame(rows, schema=schema, strict=False).cast(TICKER_SCHEMA)
