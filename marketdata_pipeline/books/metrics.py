"""Liquidity metrics of book snapshots, as polars expressions over the wide level columns.

Every metric is a horizontal expression over a fixed number of columns, so a day of snapshots is
a handful of vectorised passes, never a Python loop per snapshot. Missing levels are null and
drop out of every sum; a metric that needs a side the snapshot lacks is null.
"""

from __future__ import annotations

import polars as pl

# The metric columns and their bands are part of the stored schema, which readers share.
from ..storage.schema import BANDS_BPS, IMBALANCE_LEVELS, level_column
from ..storage.schema import METRIC_COLUMNS as METRIC_COLUMNS

BPS = 10_000


def _level(side: str, field: str, i: int) -> pl.Expr:
    """A level column with NaN as null: polars orders NaN above every number."""
    return pl.col(level_column(side, field, i)).fill_nan(None)


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """Null rather than NaN or infinity where the denominator is not positive."""
    return pl.when(denominator > 0).then(numerator / denominator)


def _imbalance(levels: int) -> pl.Expr:
    """(bid amount - ask amount) / (bid amount + ask amount) over the top `levels` levels; an
    empty side counts as 0 (imbalance -1 or 1), two empty sides give null."""
    bid = pl.sum_horizontal(_level("bid", "amount", i) for i in range(levels))
    ask = pl.sum_horizontal(_level("ask", "amount", i) for i in range(levels))
    return _ratio(bid - ask, bid + ask)


def _band_depth(side: str, bps: int, depth: int) -> tuple[pl.Expr, pl.Expr]:
    """Amount (base) and price x amount (quote) of the `side` levels priced within `bps` of mid,
    the band edge included; null without a mid. Only stored levels count, so a band wider than
    the stored depth reaches sees only its stored part."""
    mid = pl.col("mid")
    reach = mid * bps / BPS  # multiplied first: exact at round mids, so edges compare exactly
    edge = mid - reach if side == "bid" else mid + reach
    inside = [
        _level(side, "price", i) >= edge if side == "bid" else _level(side, "price", i) <= edge
        for i in range(depth)
    ]
    amount = [_level(side, "amount", i) for i in range(depth)]
    price = [_level(side, "price", i) for i in range(depth)]
    base = pl.sum_horizontal(pl.when(c).then(a) for c, a in zip(inside, amount, strict=True))
    quote = pl.sum_horizontal(
        pl.when(c).then(p * a) for c, p, a in zip(inside, price, amount, strict=True)
    )
    known = mid.is_not_null()
    return pl.when(known).then(base), pl.when(known).then(quote)


def book_metrics(snapshots: pl.DataFrame, depth: int) -> pl.DataFrame:
    """Per snapshot (`layout.book_schema` rows, levels 0..depth-1 used), `METRIC_COLUMNS`:

    - mid = (bid_price_0 + ask_price_0) / 2; spread = ask_price_0 - bid_price_0;
      spread_bps = spread / mid * 10000;
    - microprice = (bid_price_0 * ask_amount_0 + ask_price_0 * bid_amount_0)
      / (bid_amount_0 + ask_amount_0): the mid leaned toward the thinner side;
    - imbalance_k = (sum bid_amount_i - sum ask_amount_i) / (sum bid_amount_i + sum ask_amount_i)
      over i < min(k, depth), for k = 1, 5; imbalance_n over all `depth` levels;
    - {bid,ask}_depth_{b}bps_base = sum of amounts of that side's levels priced within b bps of
      mid (bid_price_i >= mid - mid*b/10000, ask_price_i <= mid + mid*b/10000), and _quote the
      sum of price * amount over the same levels, for b = 10, 50, 100.

    mid, spread, spread_bps, microprice and depths are null when either side is empty.
    """
    bid, ask = _level("bid", "price", 0), _level("ask", "price", 0)
    bid_amount, ask_amount = _level("bid", "amount", 0), _level("ask", "amount", 0)
    bands = {}
    for bps in BANDS_BPS:
        for side in ("bid", "ask"):
            base, quote = _band_depth(side, bps, depth)
            bands[f"{side}_depth_{bps}bps_base"] = base
            bands[f"{side}_depth_{bps}bps_quote"] = quote
    return (
        snapshots.lazy()
        .with_columns(((bid + ask) / 2).alias("mid"), (ask - bid).alias("spread"))
        .select(
            "timestamp",
            "local_timestamp",
            "mid",
            "spread",
            (pl.col("spread") / pl.col("mid") * BPS).alias("spread_bps"),
            _ratio(bid * ask_amount + ask * bid_amount, bid_amount + ask_amount).alias(
                "microprice"
            ),
            *(_imbalance(min(k, depth)).alias(f"imbalance_{k}") for k in IMBALANCE_LEVELS),
            _imbalance(depth).alias("imbalance_n"),
            **bands,
        )
        .collect()
    )
