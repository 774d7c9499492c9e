"""The indicator maths checked against TA-Lib itself, the definition the module promises to follow.

Tolerance: ``|ours - talib| <= max(1e-9 * |talib|, 1e-12 * scale)``, where ``scale`` is the
largest |close| for price-valued outputs (EMA, MACD) and 100 for RSI. The absolute floor only
matters near 0 (MACD histogram crossings, TA-Lib's exact 0 RSI on flat prices), where a relative
test would demand more digits than the subtraction of two price-sized averages keeps.
Nulls must sit exactly where TA-Lib returns NaN.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from marketdata_pipeline.indicators import _recursions
from marketdata_pipeline.indicators.formulas import (
    INDICATOR_COLUMNS,
    compute_indicators,
    ema,
    macd,
    rsi,
)

talib = pytest.importorskip("talib")

RTOL = 1e-9
ATOL_PER_SCALE = 1e-12


def random_walk(seed: int, n: int = 5_000, start: float = 100.0, vol: float = 0.01) -> np.ndarray:
    return start * np.exp(np.cumsum(np.random.default_rng(seed).normal(0.0, vol, n)))


def spike(n: int = 600, at: int = 300) -> np.ndarray:
    # Kept short of the ~4,000 flat bars after which RSI averages go subnormal (module docs).
    x = np.full(n, 250.0)
    x[at] = 275.0
    return x


SERIES: dict[str, Callable[[], np.ndarray]] = {
    "walk-seed0": lambda: random_walk(0),
    "walk-seed1": lambda: random_walk(1),
    "walk-seed2": lambda: random_walk(2, vol=0.03),
    "walk-100k": lambda: random_walk(5, n=100_000, vol=0.002),
    "flat": lambda: np.full(300, 42.0),
    "spike": spike,
    # Averages that decay for 900 flat bars after a walk: an error carried from the early
    # prices would dominate what is left of them.
    "walk-then-flat": lambda: np.concatenate([w := random_walk(6, n=200), np.full(900, w[-1])]),
    "trend-up": lambda: np.linspace(10.0, 20.0, 200),
    "near-1e-5": lambda: random_walk(3, start=1e-5),
    "near-1e5": lambda: random_walk(4, start=1e5),
}

# name -> (our expressions, TA-Lib outputs, TA-Lib lookback, RSI-scaled?)
Indicator = tuple[
    Callable[[str], list[pl.Expr]], Callable[[np.ndarray], list[np.ndarray]], int, bool
]
INDICATORS: dict[str, Indicator] = {
    **{
        f"ema{n}": (lambda c, n=n: [ema(c, n)], lambda x, n=n: [talib.EMA(x, n)], n - 1, False)
        for n in (2, 12, 26, 50)
    },
    **{
        f"rsi{n}": (lambda c, n=n: [rsi(c, n)], lambda x, n=n: [talib.RSI(x, n)], n, True)
        for n in (2, 6, 14, 24)
    },
    **{
        f"macd{f}-{s}-{g}": (
            lambda c, p=(f, s, g): list(macd(c, *p)),
            lambda x, p=(f, s, g): list(talib.MACD(x, *p)),
            max(f, s) + g - 2,
            False,
        )
        for f, s, g in ((12, 26, 9), (5, 35, 5), (3, 10, 1), (26, 12, 9))  # last: swapped
    },
}


def evaluate(exprs: list[pl.Expr], close: pl.Series) -> list[pl.Series]:
    frame = pl.DataFrame({"close": close}).select(e.alias(f"out{i}") for i, e in enumerate(exprs))
    return frame.get_columns()


def assert_matches_talib(got: pl.Series, want: np.ndarray, scale: float) -> None:
    assert got.dtype == pl.Float64
    assert got.len() == len(want)
    assert not got.is_nan().any()
    np.testing.assert_array_equal(got.is_null().to_numpy(), np.isnan(want))
    ours, ref = got.drop_nulls().to_numpy(), want[~np.isnan(want)]
    bound = np.maximum(RTOL * np.abs(ref), ATOL_PER_SCALE * scale)
    bad = np.abs(ours - ref) > bound
    assert not bad.any(), f"{bad.sum()} bars off, first at {np.argmax(bad)}: {ours[bad][:3]}"


def check_indicator(name: str, x: np.ndarray, close: pl.Series | None = None) -> list[pl.Series]:
    ours_fn, talib_fn, _, is_rsi = INDICATORS[name]
    got = evaluate(ours_fn("close"), pl.Series("close", x) if close is None else close)
    scale = 100.0 if is_rsi else float(np.nanmax(np.abs(x), initial=1.0))
    for series, want in zip(got, talib_fn(x), strict=True):
        assert_matches_talib(series, want, scale)
    return got


@pytest.mark.parametrize("indicator", INDICATORS)
@pytest.mark.parametrize("series", SERIES)
def test_matches_talib(series: str, indicator: str) -> None:
    check_indicator(indicator, SERIES[series]())


@pytest.mark.parametrize("indicator", INDICATORS)
@pytest.mark.parametrize("extra", [-100, -1, 0, 1, 2], ids=lambda e: f"warmup{e:+d}")
def test_around_the_warm_up(indicator: str, extra: int) -> None:
    length = max(INDICATORS[indicator][2] + extra, 0)
    check_indicator(indicator, random_walk(7, n=length))


@pytest.mark.parametrize("indicator", INDICATORS)
@pytest.mark.parametrize("as_nan", [False, True], ids=["null", "nan"])
def test_leading_missing_closes_are_skipped_like_talib(indicator: str, as_nan: bool) -> None:
    x = random_walk(8, n=400)
    x[:7] = np.nan
    check_indicator(indicator, x, pl.Series("close", x, nan_to_null=not as_nan))


@pytest.mark.parametrize("indicator", INDICATORS)
@pytest.mark.parametrize("missing", [None, np.nan, np.inf, -np.inf])
def test_everything_after_a_gap_is_null(indicator: str, missing) -> None:
    """A missing close, or one that is no number (NaN, an overflowed inf), ends the values."""
    x = random_walk(9, n=400)
    gap = 250
    with_gap = pl.Series("close", x).scatter(gap, missing)
    got = evaluate(INDICATORS[indicator][0]("close"), with_gap)
    before = [s.head(gap) for s in evaluate(INDICATORS[indicator][0]("close"), with_gap[:gap])]
    for series, prefix in zip(got, before, strict=True):
        assert series.head(gap).equals(prefix)
        assert series.slice(gap).null_count() == len(x) - gap


@pytest.mark.parametrize("indicator", INDICATORS)
def test_all_missing_gives_all_null(indicator: str) -> None:
    got = evaluate(INDICATORS[indicator][0]("close"), pl.Series("close", [None] * 50, pl.Float64))
    assert all(s.null_count() == 50 for s in got)


def test_expressions_accept_an_expr_and_int_closes() -> None:
    x = random_walk(10, n=300).round(0)
    frame = pl.DataFrame({"px": x.astype(np.int64)})
    got = frame.select(ema(pl.col("px"), 12).alias("e"), rsi(pl.col("px") * 1, 14).alias("r"))
    assert_matches_talib(got["e"], talib.EMA(x, 12), float(x.max()))
    assert_matches_talib(got["r"], talib.RSI(x, 14), 100.0)


def test_expressions_work_per_series_with_over() -> None:
    up, down = np.linspace(10.0, 50.0, 60), np.linspace(50.0, 12.0, 60)
    frame = pl.DataFrame({"symbol": ["A"] * 60 + ["B"] * 60, "close": np.r_[up, down]})
    got = frame.with_columns(ema=ema("close", 5).over("symbol"), rsi=rsi("close", 5).over("symbol"))
    for symbol, x in (("A", up), ("B", down)):
        part = got.filter(pl.col("symbol") == symbol)
        assert_matches_talib(part["ema"], talib.EMA(x, 5), 50.0)
        assert_matches_talib(part["rsi"], talib.RSI(x, 5), 100.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ema("close", 1),
        lambda: rsi("close", 0),
        lambda: macd("close", 12, 26, 0),
        lambda: rsi("close", 100_001),
        lambda: ema("close", 2**63),
    ],
)
def test_rejects_periods_talib_rejects(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        call()


def test_the_loops_refuse_what_would_write_out_of_bounds() -> None:
    """The C loops check their buffers: an output shorter than x, x itself as output, more
    chains than they hold; a period past any int64 bar writes zeros, not past the buffer."""
    x, out = np.arange(50.0), np.empty(50)
    for chains in ([(0, 5, 0.5, np.empty(49))], [(0, 5, 0.5, x)], [(0, 5, 0.5, out)] * 4):
        with pytest.raises(ValueError):
            _recursions.emas(x, chains)
    _recursions.rsis(x, [(2**63 - 1, out)])
    assert out.tolist() == [0.0] * 50


def candles(close: np.ndarray | pl.Series) -> pl.DataFrame:
    n = len(close)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    times = pl.datetime_range(
        start, start + dt.timedelta(minutes=max(n - 1, 0)), "1m", time_unit="ms", eager=True
    )
    return pl.DataFrame(
        {"open_time": times.head(n), "open": close, "close": close, "volume": np.ones(n)}
    )


def assert_frame_matches_talib(out: pl.DataFrame, x: np.ndarray) -> None:
    rsis = [talib.RSI(x, n) for n in (6, 14, 24)]
    wanted = [*rsis, talib.EMA(x, 12), talib.EMA(x, 26), *talib.MACD(x, 12, 26, 9)]
    price_scale = float(np.max(np.abs(x), initial=1.0))
    for column, want in zip(INDICATOR_COLUMNS, wanted, strict=True):
        scale = 100.0 if column.startswith("rsi") else price_scale
        assert_matches_talib(out[column], want, scale)


def test_compute_indicators_shape_and_values() -> None:
    x = random_walk(11)
    frame = candles(x)
    out = compute_indicators(frame)
    assert out.columns == ["open_time", *INDICATOR_COLUMNS]
    assert out.schema["open_time"] == pl.Datetime("ms", "UTC")
    assert all(out.schema[c] == pl.Float64 for c in INDICATOR_COLUMNS)
    assert out["open_time"].equals(frame["open_time"])
    nulls = [out[c].null_count() for c in INDICATOR_COLUMNS]
    assert nulls == [6, 14, 24, 11, 25, 33, 33, 33]
    assert_frame_matches_talib(out, x)


@pytest.mark.parametrize("series", SERIES)
def test_compute_indicators_rsi_stays_in_range(series: str) -> None:
    out = compute_indicators(candles(SERIES[series]()))
    for column in ("rsi6", "rsi14", "rsi24"):
        assert out[column].drop_nulls().is_between(0.0, 100.0).all()


def test_compute_indicators_on_missing_closes() -> None:
    x = random_walk(12, n=500)
    close = pl.Series("close", x).scatter([0, 1, 2, 400], None)
    out = compute_indicators(candles(close))
    assert_frame_matches_talib(out.slice(3, 397), x[3:400])
    assert out.head(3).drop("open_time").null_count().sum_horizontal().item() == 8 * 3
    assert out.slice(400).drop("open_time").null_count().sum_horizontal().item() == 8 * 100


@pytest.mark.parametrize("length", [0, 1, 6, 7, 33, 34, 35])
def test_compute_indicators_short_inputs(length: int) -> None:
    x = random_walk(13, n=length)
    out = compute_indicators(candles(x))
    assert out.height == length
    assert_frame_matches_talib(out, x)
