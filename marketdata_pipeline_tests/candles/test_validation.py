"""Data-quality rules: each rule clean and broken, with exact counts and first offenders."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from marketdata_pipeline.candles.validation import (
    ANOMALY_ROW_RULES,
    STRUCTURAL_ROW_RULES,
    anomaly_findings,
    gap_ranges,
    quality_score,
    shared_outages,
    structural_findings,
)
from marketdata_pipeline.indicators.formulas import INDICATOR_COLUMNS, compute_indicators
from marketdata_pipeline.indicators.validation import INDICATOR_WARMUP, indicator_findings
from marketdata_pipeline.quality.findings import Finding, severity_is_error
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA
from marketdata_pipeline.timeframes import DAY_MS, MINUTE_MS, get_timeframe, iso, to_ms

T0 = to_ms(datetime(2024, 1, 1, tzinfo=UTC))  # a Monday
M1, W1 = get_timeframe("1m"), get_timeframe("1w")
END10 = T0 + 10 * MINUTE_MS


def at(minute: float) -> int:
    return T0 + int(minute * MINUTE_MS)


def stamp(minute: float) -> str:
    return iso(at(minute))


def candles(times_ms, close=None, **columns) -> pl.DataFrame:
    """Valid candles at the given open times (close 100 unless given), columns overridable."""
    n = len(times_ms)
    close = np.full(n, 100.0) if close is None else np.asarray(close, dtype=float)
    data = {
        "open_time": list(times_ms),
        "open": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "close": close,
        "volume": np.ones(n),
        "quote_volume": close,
        "trades": np.ones(n, dtype=np.int64),
    }
    return pl.DataFrame(data | columns, schema=CANDLE_SCHEMA)


def minutes(n: int = 10) -> pl.DataFrame:
    return candles([at(i) for i in range(n)])


def set_cell(frame: pl.DataFrame, row: int, **values) -> pl.DataFrame:
    return frame.with_columns(frame[name].scatter(row, value) for name, value in values.items())


def by_rule(findings: list[Finding]) -> dict[str, Finding]:
    return {f.rule: f for f in findings}


def walk(n: int, seed: int = 0, vol: float = 0.001) -> np.ndarray:
    return 100.0 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0.0, vol, n)))


# ---- structural rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "now", "broken"),
    [
        pytest.param(range(10), 10, {}, id="clean"),
        pytest.param([0, 1, 2, 2, 3], 10, {"unique_increasing": [2]}, id="duplicate"),
        pytest.param([0, 1, 3, 2, 4], 10, {"unique_increasing": [2]}, id="out-of-order"),
        pytest.param([0, 1, 2.5, 3], 10, {"grid_aligned": [2.5]}, id="misaligned"),
        pytest.param([-1, 0, 5, 10, 11], 20, {"inside_window": [-1, 10, 11]}, id="outside"),
        pytest.param(range(10), 9.5, {"closed_only": [9]}, id="in-progress"),
        pytest.param(range(10), 8.5, {"closed_only": [8, 9]}, id="two-in-progress"),
    ],
)
def test_structural_row_rules(times, now: float, broken: dict[str, list[float]]) -> None:
    frame = candles([at(t) for t in times])
    found = by_rule(structural_findings(frame, M1, T0, END10, at(now)))
    assert list(found) == ["schema", *STRUCTURAL_ROW_RULES]
    for rule, finding in found.items():
        offenders = broken.get(rule, [])
        assert finding.rows_checked == (frame.height if rule != "schema" else 8)
        assert finding.violations == len(offenders), rule
        assert finding.first_offenders == [stamp(m) for m in offenders], rule
        assert finding.passed is (not offenders)


@pytest.mark.parametrize(
    ("change", "bad"),
    [
        (lambda f: f.with_columns(pl.col("trades").cast(pl.Float64)), ["trades"]),
        (lambda f: f.drop("quote_volume"), ["quote_volume"]),
        (lambda f: f.with_columns(extra=pl.lit(1)), ["extra"]),
        (lambda f: f.with_columns(pl.col("open_time").dt.cast_time_unit("ns")), ["open_time"]),
        (
            lambda f: f.drop("volume").with_columns(pl.col("low").cast(pl.Float32), x=pl.lit(0)),
            ["low", "volume", "x"],
        ),
    ],
    ids=["wrong-dtype", "missing", "extra", "open-time-unit", "three-bad"],
)
def test_schema(change, bad: list[str]) -> None:
    findings = structural_findings(change(minutes()), M1, T0, END10, END10)
    schema = findings[0]
    assert (schema.rule, schema.violations, schema.first_offenders) == ("schema", len(bad), bad)
    assert all(f.passed for f in findings[1:])  # row rules still judged on any Datetime


def test_schema_without_open_time_judges_only_the_schema() -> None:
    findings = structural_findings(minutes().drop("open_time"), M1, T0, END10, END10)
    assert [(f.rule, f.first_offenders) for f in findings] == [("schema", ["open_time"])]


def test_empty_frame() -> None:
    empty = candles([])
    findings = structural_findings(empty, M1, T0, END10, END10) + anomaly_findings(
        empty, M1, T0, END10
    )
    found = by_rule(findings)
    rows = [f for r, f in found.items() if r not in ("schema", "gaps")]
    assert all(f.passed and f.rows_checked == 0 for f in rows)
    assert found["schema"].passed
    assert (found["gaps"].rows_checked, found["gaps"].violations) == (10, 10)
    assert found["gaps"].first_offenders == [f"{stamp(0)}/{stamp(10)}"]
    assert gap_ranges(empty, M1, T0, END10) == [(T0, END10)]


# ---- anomaly rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "values", "rules"),
    [
        pytest.param(0, {}, set(), id="clean"),
        pytest.param(3, {"high": 98.0}, {"ohlc_consistent"}, id="high<low"),
        pytest.param(4, {"close": 101.5}, {"ohlc_consistent"}, id="high<close"),
        pytest.param(2, {"low": 100.5}, {"ohlc_consistent"}, id="low>open"),
        pytest.param(5, {"low": -1.0}, {"positive_prices"}, id="negative-low"),
        pytest.param(5, {"open": -1.0}, {"positive_prices", "ohlc_consistent"}, id="neg-open"),
        pytest.param(6, {"close": 0.0}, {"positive_prices", "ohlc_consistent"}, id="zero"),
        pytest.param(6, {"close": None}, {"positive_prices"}, id="null-close"),
        pytest.param(6, {"high": float("nan")}, {"positive_prices"}, id="nan-high"),
        pytest.param(7, {"volume": -1.0}, {"non_negative_volume"}, id="negative-volume"),
        pytest.param(7, {"volume": None}, {"non_negative_volume"}, id="null-volume"),
        pytest.param(7, {"trades": -3}, {"non_negative_volume"}, id="negative-trades"),
        pytest.param(7, {"quote_volume": None}, set(), id="null-quote-volume-ok"),
        pytest.param(7, {"volume": 0.0}, set(), id="zero-volume-ok"),
    ],
)
def test_row_anomalies(row: int, values: dict, rules: set[str]) -> None:
    frame = set_cell(minutes(), row, **values)
    found = by_rule(anomaly_findings(frame, M1, T0, END10))
    assert list(found) == [*ANOMALY_ROW_RULES[:3], "gaps", "price_jumps"]
    for rule, finding in found.items():
        expected = [stamp(row)] if rule in rules else []
        assert (finding.violations, finding.first_offenders) == (len(expected), expected), rule


@pytest.mark.parametrize(
    ("timeframe", "present", "start", "end", "missing"),
    [
        pytest.param(M1, range(10), T0, END10, [], id="complete"),
        pytest.param(M1, [0, 1, 2, 5, 6, 8, 9], T0, END10, [(3, 5), (7, 8)], id="middle"),
        pytest.param(M1, range(2, 10), T0, END10, [(0, 2)], id="start"),
        pytest.param(M1, range(8), T0, END10, [(8, 10)], id="end"),
        pytest.param(M1, [], T0, END10, [(0, 10)], id="empty"),
        pytest.param(M1, range(1, 10), at(0.5), END10, [], id="unaligned-start"),
        pytest.param(M1, range(9), T0, at(9.5), [(9, 9.5)], id="unaligned-end"),
        pytest.param(M1, [0, 1, 2, 3.5, 4, 12], T0, at(6), [(3, 4), (5, 6)], id="off-grid"),
        pytest.param(M1, [-1, 0, 1, 1, 2, 3, 4, 5, 6, 7], T0, at(8), [], id="dup-and-before"),
    ],
)
def test_gaps_minutes(timeframe, present, start: int, end: int, missing) -> None:
    frame = candles([at(m) for m in present])
    ranges = [(at(a), at(b)) for a, b in missing]
    assert gap_ranges(frame, timeframe, start, end) == ranges
    gaps = by_rule(anomaly_findings(frame, timeframe, start, end))["gaps"]
    assert gaps.violations == sum(int(np.ceil(b - a)) for a, b in missing)
    assert gaps.first_offenders == [f"{stamp(a)}/{stamp(b)}" for a, b in missing]
    assert gaps.rows_checked == int(np.ceil((end - M1.ceil(start)) / M1.ms))


def test_gaps_on_the_weekly_monday_grid() -> None:
    week = 7 * DAY_MS
    jan8 = T0 + week
    frame = candles([jan8, jan8 + 2 * week, jan8 + 3 * week])  # 15 Jan missing
    start, end = T0 + 2 * DAY_MS, T0 + 5 * week  # from Wednesday 3 Jan to Monday 5 Feb
    assert gap_ranges(frame, W1, start, end) == [(jan8 + week, jan8 + 2 * week)]
    gaps = by_rule(anomaly_findings(frame, W1, start, end))["gaps"]
    assert (gaps.rows_checked, gaps.violations) == (4, 1)
    assert gaps.first_offenders == ["2024-01-15T00:00:00+00:00/2024-01-22T00:00:00+00:00"]
    thursday = candles([jan8 + 3 * DAY_MS])  # on a 7-day grid from the epoch, not Monday's
    assert by_rule(structural_findings(thursday, W1, T0, end, end))["grid_aligned"].violations == 1


def test_gap_offenders_are_capped_but_all_counted() -> None:
    frame = candles([at(m) for m in range(0, 40, 2)])
    gaps = by_rule(anomaly_findings(frame, M1, T0, at(40)))["gaps"]
    assert (gaps.violations, len(gaps.first_offenders)) == (20, 10)
    assert gaps.first_offenders[0] == f"{stamp(1)}/{stamp(2)}"


def jump_series(n: int, jump_at: int, factor: float = 1.05) -> pl.DataFrame:
    close = walk(n)
    close[jump_at:] *= factor
    return candles([at(i) for i in range(n)], close)


def jumps(frame: pl.DataFrame, **kwargs) -> list[str]:
    found = by_rule(anomaly_findings(frame, M1, T0, at(10_000), **kwargs))
    assert found["ohlc_consistent"].passed
    return found["price_jumps"].first_offenders


@pytest.mark.parametrize(
    ("jump_at", "flagged"),
    [(None, []), (200, [200]), (61, [61]), (60, []), (30, [])],
    ids=["steady-noise", "jump", "first-full-window", "window-one-short", "no-history"],
)
def test_price_jumps(jump_at: int | None, flagged: list[int]) -> None:
    frame = (
        jump_series(300, jump_at) if jump_at else candles([at(i) for i in range(300)], walk(300))
    )
    assert jumps(frame) == [stamp(i) for i in flagged]


def test_price_jump_down_and_threshold() -> None:
    frame = jump_series(300, 150, factor=0.95)
    assert jumps(frame) == [stamp(150)]
    assert jumps(frame, jump_multiple=100.0) == []
    assert jumps(frame, volatility_window=10) == [stamp(150)]


@pytest.mark.parametrize("jump_at", [0, 30, 100])
def test_history_warms_the_window_up(jump_at: int) -> None:
    full = jump_series(400, 200 + jump_at)
    partition, history = full.slice(200), full.head(200)
    want = [stamp(200 + jump_at)]
    got = by_rule(anomaly_findings(partition, M1, at(200), at(400), history=history))
    assert got["price_jumps"].first_offenders == want
    assert (
        by_rule(anomaly_findings(partition, M1, at(200), at(400), history=full))[
            "price_jumps"
        ].first_offenders
        == want
    )  # rows at or after the partition start are ignored
    without = by_rule(anomaly_findings(partition, M1, at(200), at(400)))["price_jumps"]
    assert without.violations == (1 if jump_at > 60 else 0)


def test_flat_prices_make_any_move_a_jump() -> None:
    close = np.full(100, 50.0)
    close[80] = 50.01
    assert jumps(candles([at(i) for i in range(100)], close)) == [stamp(80)]


def test_bad_closes_do_not_make_jumps() -> None:
    frame = set_cell(jump_series(300, 250), 100, close=-1.0, low=-1.0)
    assert jumps(frame) == [stamp(250)]  # 100 breaks the windows it touches, 250 is judged again


# ---- outages across series ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("gaps", "shared"),
    [
        pytest.param({"a": [(0, 10), (20, 30)], "b": [(5, 25)]}, [(5, 10), (20, 25)], id="two"),
        pytest.param(
            {"a": [(0, 10), (20, 30)], "b": [(5, 25)], "c": [(8, 22)]},
            [(8, 10), (20, 22)],
            id="three",
        ),
        pytest.param({"a": [(0, 10)], "b": [(0, 10)], "c": []}, [], id="one-series-complete"),
        pytest.param({"a": [(0, 10)]}, [], id="single-series"),
        pytest.param({"a": [(0, 5)], "b": [(5, 10)]}, [], id="touching"),
        pytest.param({"a": [(0, 5), (5, 10)], "b": [(2, 12)]}, [(2, 10)], id="adjacent-merged"),
        pytest.param({"a": [(0, 8), (4, 10)], "b": [(0, 10)]}, [(0, 10)], id="overlap-in-one"),
    ],
)
def test_shared_outages(gaps: dict, shared: list) -> None:
    assert shared_outages(gaps) == shared


def test_shared_outage_from_real_series() -> None:
    ranges = {
        name: gap_ranges(candles([at(m) for m in range(10) if m not in drop]), M1, T0, END10)
        for name, drop in {"btc": {2, 3, 4, 8}, "eth": {3, 4, 5}, "sol": {0, 4}}.items()
    }
    assert shared_outages(ranges) == [(at(4), at(5))]
    assert shared_outages({k: ranges[k] for k in ("btc", "eth")}) == [(at(3), at(5))]


# ---- score and severity -------------------------------------------------------------------


def test_quality_score_counts_each_row_once() -> None:
    frame = set_cell(minutes(8), 1, open=-1.0)  # breaks positive_prices and ohlc_consistent
    frame = set_cell(frame, 7, volume=-1.0)  # and row 7 is also still in progress
    findings = structural_findings(frame, M1, T0, END10, at(7.5)) + anomaly_findings(
        frame, M1, T0, END10
    )
    assert sum(f.violations for f in findings if f.rule != "gaps") == 4
    assert quality_score(findings, 10) == {"completeness_pct": 80.0, "validity_pct": 75.0}


@pytest.mark.parametrize(
    ("findings", "expected_rows", "score"),
    [
        ([], 0, (100.0, 100.0)),
        ([Finding("gaps", 10, 10, [])], 10, (0.0, 100.0)),
        ([Finding("gaps", 10, 12, [])], 10, (0.0, 100.0)),
        ([Finding("gaps", 10, 0, [])], 5, (100.0, 100.0)),
        ([Finding("ohlc_consistent", 20, 3, []), Finding("price_jumps", 20, 2, [])], 20, (100, 75)),
        ([Finding("schema", 8, 2, ["a", "b"]), Finding("rsi_range", 9, 9, [])], 4, (100, 100)),
    ],
    ids=["nothing", "all-missing", "clamped", "more-than-expected", "no-masks", "not-row-rules"],
)
def test_quality_score_edges(findings, expected_rows: int, score) -> None:
    got = quality_score(findings, expected_rows)
    assert (got["completeness_pct"], got["validity_pct"]) == pytest.approx(score)


@pytest.mark.parametrize(
    ("violations", "rows", "threshold", "error"),
    [
        (0, 10, 0.0, False),
        (1, 10, 0.0, True),
        (1, 10, 0.1, False),
        (2, 10, 0.1, True),
        (1, 0, 0.5, True),
    ],
)
def test_severity(violations: int, rows: int, threshold: float, error: bool) -> None:
    finding = Finding("gaps", rows, violations, [])
    assert finding.share == violations / max(rows, 1)
    assert severity_is_error(finding, threshold) is error


# ---- indicators ---------------------------------------------------------------------------


def indicators(n: int = 120) -> pl.DataFrame:
    return compute_indicators(candles([at(i) for i in range(n)], walk(n, seed=3)))


def test_warmup_table_matches_compute_indicators() -> None:
    nulls = indicators().select(pl.col(INDICATOR_COLUMNS).null_count()).row(0, named=True)
    assert nulls == INDICATOR_WARMUP


@pytest.mark.parametrize("skipped", [0, 5, 20, 40])
def test_indicators_clean(skipped: int) -> None:
    frame = indicators().slice(skipped)
    assert all(f.passed for f in indicator_findings(frame, skipped or None))


@pytest.mark.parametrize(
    ("column", "row", "value", "rule"),
    [
        ("rsi14", 5, 50.0, "indicator_warmup"),
        ("macd", 32, 0.1, "indicator_warmup"),
        ("ema12", 11, None, "indicator_nulls"),
        ("macd_hist", 90, float("nan"), "indicator_nulls"),
        ("rsi6", 50, 120.0, "rsi_range"),
        ("rsi24", 60, -0.5, "rsi_range"),
    ],
)
def test_indicator_corruption(column: str, row: int, value, rule: str) -> None:
    found = by_rule(indicator_findings(set_cell(indicators(), row, **{column: value})))
    for name, finding in found.items():
        expected = [stamp(row)] if name == rule else []
        assert (finding.violations, finding.first_offenders) == (len(expected), expected), name


def test_indicator_frame_judged_from_the_wrong_start() -> None:
    found = by_rule(indicator_findings(indicators().slice(10)))  # really 10 bars in
    assert found["indicator_warmup"].violations == 33  # rsi6 has a value on every row
    assert found["indicator_warmup"].first_offenders[0] == stamp(10)
    late = by_rule(indicator_findings(indicators(), warmup_rows=10))
    # Each row up to bar 32 still lacks a value its column should have 10 bars sooner.
    assert late["indicator_nulls"].violations == 33


def test_missing_indicator_column_is_all_null() -> None:
    found = by_rule(indicator_findings(indicators().drop("macd_hist")))
    assert found["indicator_nulls"].violations == 120 - 33
    assert found["indicator_warmup"].passed and found["rsi_range"].passed


# ---- a year of minutes --------------------------------------------------------------------


def test_a_year_of_minutes() -> None:
    n = 525_600
    close = walk(n, seed=7, vol=0.0005)
    close[400_000:] *= 1.1
    frame = candles([at(i) for i in range(n)], close)
    frame = set_cell(frame, 200_000, high=1.0).filter(~pl.int_range(pl.len()).is_in([1000, 1001]))
    end = at(n)
    findings = structural_findings(frame, M1, T0, end, end) + anomaly_findings(frame, M1, T0, end)
    found = by_rule(findings)
    counts = {rule: f.violations for rule, f in found.items() if not f.passed}
    assert counts == {"ohlc_consistent": 1, "gaps": 2, "price_jumps": 1}
    assert found["gaps"].first_offenders == [f"{stamp(1000)}/{stamp(1002)}"]
    assert found["price_jumps"].first_offenders == [stamp(400_000)]
    assert found["ohlc_consistent"].first_offenders == [stamp(200_000)]
    score = quality_score(findings, n)
    assert score["completeness_pct"] == pytest.approx(100 * (n - 2) / n)
    assert score["validity_pct"] == pytest.approx(100 * (n - 4) / (n - 2))
    assert all(f.passed for f in indicator_findings(compute_indicators(frame.head(1000))))
