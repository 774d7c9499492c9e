"""Rules over stored book snapshots and tickers, as plain polars: what a collected series must
hold to be trusted. Row rules name offending snapshots by receive time (`local_timestamp`),
the one time every snapshot has; cadence names the missing slots."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ..quality.findings import MAX_OFFENDERS, Finding, row_findings, value
from ..timeframes import iso
from .layout import SIDES, level_column


def _any(flags: list[pl.Expr]) -> pl.Expr:
    """True where any flag is; `pl.lit(False)` keeps a depth-1 book's empty list valid."""
    return pl.any_horizontal(pl.lit(False), *flags)


def book_rules(depth: int) -> dict[str, pl.Expr]:
    """Row rules (True = offending snapshot) over levels 0..depth-1. Null levels are absent:
    ordering compares neighbouring levels that are both present, and `level_gap` flags a
    present level below an absent one, which no exchange serves."""

    def price(side: str, i: int) -> pl.Expr:
        return value(level_column(side, "price", i))

    def amount(side: str, i: int) -> pl.Expr:
        return value(level_column(side, "amount", i))

    pairs = range(depth - 1)
    levels = [(side, i) for side in SIDES for i in range(depth)]
    return {
        "crossed": price("bid", 0) >= price("ask", 0),
        "bid_out_of_order": _any([price("bid", i + 1) >= price("bid", i) for i in pairs]),
        "ask_out_of_order": _any([price("ask", i + 1) <= price("ask", i) for i in pairs]),
        "level_gap": _any(
            [price(s, i).is_null() & price(s, i + 1).is_not_null() for s in SIDES for i in pairs]
        ),
        "amount_not_positive": _any(
            [price(s, i).is_not_null() & ~(amount(s, i) > 0).fill_null(False) for s, i in levels]
        ),
        # A quiet book keeps its update id from one snapshot to the next: equal is fine, going
        # back is not (a restarted exchange feed or rows out of order).
        "update_id_out_of_order": pl.col("update_id").diff() < 0,
        # The same update id must mean the same book.
        "update_id_reused": (pl.col("update_id").diff() == 0)
        & _any(
            [
                value(c).ne_missing(value(c).shift(1))
                for s, i in levels
                for c in (level_column(s, "price", i), level_column(s, "amount", i))
            ]
        ),
    }


def book_findings(snapshots: pl.DataFrame, depth: int) -> list[Finding]:
    """`book_rules` over snapshots in receive order, offenders named by `local_timestamp`."""
    indexed = snapshots.select("local_timestamp", pl.exclude("local_timestamp"))
    return row_findings(indexed, book_rules(depth))


TICKER_PRICES = ("bid", "ask", "last", "open", "high", "low", "vwap")
TICKER_RULES = {
    "bid_above_ask": value("bid") > value("ask"),
    "price_not_positive": _any([value(c) <= 0 for c in TICKER_PRICES]),
}


def ticker_findings(tickers: pl.DataFrame) -> list[Finding]:
    """`TICKER_RULES` over ticker rows (`layout.TICKER_SCHEMA`), offenders named by receive time;
    a price the exchange did not give (null) passes."""
    return row_findings(tickers, TICKER_RULES)


@dataclass(frozen=True)
class CadenceFinding(Finding):
    """Slots as rows: `rows_checked` expected slots, `violations` the empty ones."""

    @property
    def completeness(self) -> float:
        """The share of expected snapshots present: 1.0 when every slot holds one."""
        return 1.0 - self.share


def cadence_finding(
    timestamps: pl.Series, start_ms: int, end_ms: int, every_seconds: float
) -> CadenceFinding:
    """Which `every_seconds` slots of [start_ms, end_ms) hold at least one snapshot.

    Slots start at `start_ms`; only whole slots are expected, so a window still being collected
    does not count its unfinished last slot as missing. Snapshots outside the window and extra
    snapshots in a slot do not count. Offenders are runs of empty slots, first to last slot
    start, earliest first: a paused collector shows as one run, never as invented rows.
    """
    every = round(every_seconds * 1000)
    expected = max((end_ms - start_ms) // every, 0)
    ms = timestamps.drop_nulls()
    if ms.dtype.is_temporal():
        ms = ms.dt.epoch("ms")
    slots = ((ms - start_ms) // every).filter((ms >= start_ms) & (ms < start_ms + expected * every))
    present = np.zeros(expected, dtype=bool)
    present[slots.to_numpy()] = True
    missing = np.flatnonzero(~present)
    runs = np.split(missing, np.flatnonzero(np.diff(missing) != 1) + 1) if missing.size else []
    offenders = [
        iso(start_ms + int(r[0]) * every)
        if r.size == 1
        else f"{iso(start_ms + int(r[0]) * every)}..{iso(start_ms + int(r[-1]) * every)}"
        f" ({r.size} slots)"
        for r in runs[:MAX_OFFENDERS]
    ]
    return CadenceFinding("cadence", int(expected), int(missing.size), offenders)
