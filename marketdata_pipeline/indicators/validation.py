"""Quality rules for stored indicators: TA-Lib's null pattern and the RSI range."""

from __future__ import annotations

import polars as pl

from ..quality.findings import Finding, row_findings, value
from ..storage.schema import INDICATOR_COLUMNS

# Leading nulls of each indicator in a series that starts at its first candle (TA-Lib lookback).
INDICATOR_WARMUP = {
    "rsi6": 6,
    "rsi14": 14,
    "rsi24": 24,
    "ema12": 11,
    "ema26": 25,
    "macd": 33,
    "macd_signal": 33,
    "macd_hist": 33,
}


def indicator_findings(indicators: pl.DataFrame, warmup_rows: int | None = None) -> list[Finding]:
    """TA-Lib's null pattern and RSI range, for a frame starting ``warmup_rows`` bars into its
    series (None or 0: at the first candle). A missing column counts as all null; NaN as null."""
    skipped = warmup_rows or 0
    index = pl.int_range(pl.len())
    has_value: dict[str, pl.Expr] = {
        c: value(c).is_not_null() if c in indicators.columns else pl.repeat(False, pl.len())
        for c in INDICATOR_COLUMNS
    }
    warm = {c: index < max(0, INDICATOR_WARMUP[c] - skipped) for c in INDICATOR_COLUMNS}
    rsi = [value(c) for c in INDICATOR_COLUMNS if c.startswith("rsi") and c in indicators.columns]
    rules = {
        "indicator_warmup": pl.any_horizontal(warm[c] & has_value[c] for c in INDICATOR_COLUMNS),
        "indicator_nulls": pl.any_horizontal(~warm[c] & ~has_value[c] for c in INDICATOR_COLUMNS),
        "rsi_range": pl.any_horizontal(False, *((r < 0) | (r > 100) for r in rsi)),
    }
    return row_findings(indicators, rules)
