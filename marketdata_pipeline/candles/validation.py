"""Data-quality rules for stored candles, as plain data for Dagster asset checks to report.

Two families: *structural* rules are invariants the writer guarantees (a failure is a bug, so
the checks block), *anomaly* rules flag what exchanges serve as-is (gaps, broken OHLC, jumps).
Row rules are boolean polars expressions (True = offending row) evaluated in one ``select``, so
a year of 1m candles validates in a fraction of a second. Rows are judged in stored order.
"""

from __future__ import annotations

import polars as pl

from ..quality.findings import MAX_OFFENDERS, Finding, epoch_ms, row_findings, value
from ..storage.schema import CANDLE_SCHEMA, PRICE_COLUMNS
from ..timeframes import Timeframe, iso

STRUCTURAL_ROW_RULES = ("unique_increasing", "grid_aligned", "inside_window", "closed_only")
ANOMALY_ROW_RULES = ("ohlc_consistent", "positive_prices", "non_negative_volume", "price_jumps")
# The rules whose offenders are candle rows: what validity_pct is made of.
ROW_RULES = STRUCTURAL_ROW_RULES + ANOMALY_ROW_RULES


def structural_rules(
    timeframe: Timeframe, start_ms: int, end_ms: int, now_ms: int
) -> dict[str, pl.Expr]:
    """Row expressions (True = offending) for the invariants the writer guarantees."""
    t = epoch_ms()
    return {
        "unique_increasing": t.diff() <= 0,  # a duplicate or a step back from the previous row
        "grid_aligned": (t - timeframe.origin_ms) % timeframe.ms != 0,
        "inside_window": (t < start_ms) | (t >= end_ms),
        "closed_only": t + timeframe.ms > now_ms,
    }


def _schema_finding(candles: pl.DataFrame) -> Finding:
    names = list(dict.fromkeys([*CANDLE_SCHEMA, *candles.columns]))
    bad = [c for c in names if candles.schema.get(c) != CANDLE_SCHEMA.get(c)]
    return Finding("schema", len(names), len(bad), bad[:MAX_OFFENDERS])


def structural_findings(
    candles: pl.DataFrame, timeframe: Timeframe, start_ms: int, end_ms: int, now_ms: int
) -> list[Finding]:
    """Schema plus the row invariants; without an ``open_time`` only the schema is judged."""
    schema = _schema_finding(candles)
    if not isinstance(candles.schema.get("open_time"), pl.Datetime):
        return [schema]
    rules = structural_rules(timeframe, start_ms, end_ms, now_ms)
    return [schema, *row_findings(candles, rules)]


def _jump_rule(
    candles: pl.DataFrame, multiple: float, window: int, history: pl.DataFrame | None
) -> pl.Expr:
    """|log return| above ``multiple`` sample stds of the ``window`` returns before it.

    ``history`` closes (the last window+1 before the first candle) warm the window up; a
    non-positive or missing close breaks every return and window that touches it.
    """
    close, warm = pl.col("close").cast(pl.Float64), 0
    if history is not None and candles.height:
        before = history.filter(pl.col("open_time") < candles.get_column("open_time").min())
        past = before.sort("open_time").tail(window + 1).get_column("close").cast(pl.Float64)
        close, warm = pl.lit(past).append(close), past.len()
    close = close.fill_nan(None)
    log_return = pl.when(close.is_finite() & (close > 0)).then(close).log().diff()
    volatility = log_return.rolling_std(window, min_samples=window).shift(1)
    return (log_return.abs() > multiple * volatility).slice(warm)


def anomaly_rules(
    candles: pl.DataFrame,
    jump_multiple: float = 10.0,
    volatility_window: int = 60,
    history: pl.DataFrame | None = None,
) -> dict[str, pl.Expr]:
    """Row expressions (True = offending) for what exchanges serve; null prices count as not
    positive and are left out of the OHLC comparison, null volume counts as negative."""
    o, h, low, c = (value(name) for name in PRICE_COLUMNS[:4])
    volume = value("volume")
    negative_extra = [value(x) < 0 for x in ("quote_volume", "trades") if x in candles.columns]
    return {
        "ohlc_consistent": (low > pl.min_horizontal(o, c))
        | (h < pl.max_horizontal(o, c))
        | (low > h),
        "positive_prices": pl.any_horizontal(~(p > 0).fill_null(False) for p in (o, h, low, c)),
        "non_negative_volume": pl.any_horizontal(
            (volume < 0).fill_null(True), *(e.fill_null(False) for e in negative_extra)
        ),
        "price_jumps": _jump_rule(candles, jump_multiple, volatility_window, history),
    }


def _grid(timeframe: Timeframe, start_ms: int, end_ms: int) -> tuple[int, int]:
    """First expected open time and the number of expected candles in [start_ms, end_ms)."""
    first = timeframe.ceil(start_ms)
    return first, max(0, -((first - end_ms) // timeframe.ms))


def gap_ranges(
    candles: pl.DataFrame, timeframe: Timeframe, start_ms: int, end_ms: int
) -> list[tuple[int, int]]:
    """Missing [from, to) ranges of the grid; ``to`` is the next candle present or ``end_ms``."""
    first, expected = _grid(timeframe, start_ms, end_ms)
    if not expected:
        return []
    stop = first + expected * timeframe.ms
    t = candles.select(epoch_ms().alias("t")).get_column("t")
    on_grid = t.filter((t >= first) & (t < stop) & ((t - timeframe.origin_ms) % timeframe.ms == 0))
    bounds = pl.Series("t", [first - timeframe.ms, stop], dtype=pl.Int64)
    points = pl.concat([bounds.head(1), on_grid.unique().sort(), bounds.tail(1)])
    ranges = (
        points.to_frame("t")
        .with_columns(nxt=pl.col("t").shift(-1))
        .filter(pl.col("nxt") - pl.col("t") > timeframe.ms)
        .select(pl.col("t") + timeframe.ms, pl.min_horizontal("nxt", end_ms))
    )
    return list(ranges.iter_rows())


def _covered(series: list[list[tuple[int, int]]], need: int) -> list[tuple[int, int]]:
    """Ranges covered by at least ``need`` of the (internally non-overlapping) lists: a sweep."""
    pairs = [r for ranges in series for r in ranges if r[1] > r[0]]
    if not pairs:
        return []
    events = pl.DataFrame(
        {
            "t": [a for a, _ in pairs] + [b for _, b in pairs],
            "d": [1] * len(pairs) + [-1] * len(pairs),
        }
    )
    runs = (
        events.group_by("t")
        .agg(pl.col("d").sum())
        .sort("t")
        .with_columns(on=pl.col("d").cum_sum() >= need, nxt=pl.col("t").shift(-1))
        .with_columns(run=(pl.col("on") != pl.col("on").shift()).fill_null(True).cum_sum())
        .filter("on")
        .group_by("run", maintain_order=True)
        .agg(pl.col("t").first(), pl.col("nxt").last())
    )
    return list(runs.select("t", "nxt").iter_rows())


def shared_outages(gaps_by_series: dict[str, list[tuple[int, int]]]) -> list[tuple[int, int]]:
    """Ranges missing in every series: an exchange outage rather than one market's gap."""
    if len(gaps_by_series) < 2:
        return []
    merged = [_covered([ranges], 1) for ranges in gaps_by_series.values()]
    return _covered(merged, len(merged))


def anomaly_findings(
    candles: pl.DataFrame,
    timeframe: Timeframe,
    start_ms: int,
    end_ms: int,
    *,
    jump_multiple: float = 10.0,
    volatility_window: int = 60,
    history: pl.DataFrame | None = None,
) -> list[Finding]:
    """Exchange-side anomalies, kept in the store as served; ``gaps`` counts missing candles."""
    rules = anomaly_rules(candles, jump_multiple, volatility_window, history)
    findings = row_findings(candles, rules)
    gaps = gap_ranges(candles, timeframe, start_ms, end_ms)
    missing = sum(-((a - b) // timeframe.ms) for a, b in gaps)
    offenders = [f"{iso(a)}/{iso(b)}" for a, b in gaps[:MAX_OFFENDERS]]
    expected = _grid(timeframe, start_ms, end_ms)[1]
    findings.insert(3, Finding("gaps", expected, missing, offenders))
    return findings


def quality_score(findings: list[Finding], expected_rows: int) -> dict[str, float]:
    """Two percentages in [0, 100]:

    * completeness_pct = 100 * (expected_rows - missing) / expected_rows, missing being the
      violations of the "gaps" finding, clamped to [0, 100]; 100 when nothing is expected.
    * validity_pct = 100 * (rows - invalid) / rows over the findings of ``ROW_RULES``: rows is
      their largest rows_checked, invalid the rows offending at least one of them (the union of
      their masks; a finding without a mask adds its violations). 100 when there are no rows.
      Gaps, schema and indicator rules are not row rules of the candle frame and are ignored.
    """
    missing = sum(f.violations for f in findings if f.rule == "gaps")
    present = expected_rows - missing
    completeness = (
        100.0 if expected_rows <= 0 else min(max(100.0 * present / expected_rows, 0.0), 100.0)
    )
    row_findings = [f for f in findings if f.rule in ROW_RULES]
    rows = max((f.rows_checked for f in row_findings), default=0)
    masks = [f.mask for f in row_findings if f.mask is not None and f.mask.len() == rows]
    invalid = (
        pl.DataFrame({str(i): m for i, m in enumerate(masks)})
        .select(pl.any_horizontal(pl.all()).sum())
        .item()
        if masks
        else 0
    )
    invalid += sum(f.violations for f in row_findings if f.mask is None or f.mask.len() != rows)
    validity = 100.0 if rows == 0 else 100.0 * (rows - min(invalid, rows)) / rows
    return {"completeness_pct": completeness, "validity_pct": validity}
