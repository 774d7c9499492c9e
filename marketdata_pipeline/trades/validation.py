"""Rules over stored trades, as plain polars: what a trade series must hold to be complete."""

from __future__ import annotations

import polars as pl

from ..quality.findings import MAX_OFFENDERS, Finding, row_findings

TRADE_RULES = {
    "duplicate_id": pl.col("id").is_duplicated(),
    "price_not_positive": ~(pl.col("price") > 0),
    "amount_not_positive": ~(pl.col("amount") > 0),
    "side_unknown": ~pl.col("side").is_in(["buy", "sell"]),
    # Ids grow with time: an id older than the one before it is out of order.
    "id_out_of_order": pl.col("id").diff().fill_null(1) <= 0,
}


def trade_findings(
    trades: pl.DataFrame, gaps: list[tuple[int, int]], contiguous: bool
) -> list[Finding]:
    """Row rules, and for exchanges whose ids are contiguous, the ids missing between the
    first and last stored trade that the exchange did not confirm missing."""
    findings = row_findings(trades, TRADE_RULES)
    if contiguous:
        holes = unconfirmed_holes(trades["id"], gaps)
        findings.append(
            Finding(
                "id_hole",
                trades.height,
                sum(hi - lo for lo, hi in holes),
                [f"ids {lo}..{hi - 1}" for lo, hi in holes[:MAX_OFFENDERS]],
            )
        )
    return findings


def unconfirmed_holes(ids: pl.Series, gaps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Id ranges [lo, hi) missing between consecutive stored ids, less the confirmed gaps."""
    ordered = ids.unique().sort()
    if ordered.len() < 2:
        return []
    starts = ordered.head(-1) + 1
    ends = ordered.tail(-1)
    jumps = pl.DataFrame({"lo": starts, "hi": ends}).filter(pl.col("hi") > pl.col("lo"))
    confirmed = set(map(tuple, gaps))
    return [(lo, hi) for lo, hi in jumps.iter_rows() if (lo, hi) not in confirmed]


# Volumes are sums of many floats on both sides: equal within this relative tolerance.
VOLUME_RTOL = 1e-9


def candle_mismatches(built: pl.DataFrame, exchange: pl.DataFrame) -> pl.DataFrame:
    """Buckets present in both frames whose OHLC, trade count or volumes differ, with the
    fields that differ. A bucket without trades matches an exchange candle without trades."""
    both = built.join(exchange, on="open_time", suffix="_exchange")
    traded = pl.col("trades") > 0
    differs = {
        **{c: traded & (pl.col(c) != pl.col(f"{c}_exchange")) for c in PRICE_FIELDS},
        "trades": pl.col("trades") != pl.col("trades_exchange"),
        **{
            c: (pl.col(c) - pl.col(f"{c}_exchange")).abs()
            > VOLUME_RTOL * pl.max_horizontal(pl.col(c).abs(), pl.lit(1.0))
            for c in ("volume", "quote_volume")
        },
    }
    flags = both.select("open_time", *(e.fill_null(True).alias(c) for c, e in differs.items()))
    return flags.select(
        "open_time",
        pl.concat_str(
            [pl.when(pl.col(c)).then(pl.lit(c)) for c in differs], separator=",", ignore_nulls=True
        ).alias("fields"),
    ).filter(pl.col("fields") != "")


PRICE_FIELDS = ("open", "high", "low", "close")
