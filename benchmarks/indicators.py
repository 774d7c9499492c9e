"""Indicator speed: `compute_indicators` against TA-Lib's C functions, in one run.

Builds a random-walk series of 1m candles (1,000,000 by default) and times the project's
`compute_indicators` (all eight columns: RSI 6/14/24, EMA 12/26, MACD 12/26/9 line, signal and
histogram) against TA-Lib computing the same outputs (RSI x3, EMA x2, one MACD call). Each side
runs once as warm-up, then the two take turns --repeat times and each side's best run counts. Prints both times and the ratio.
Both sides do their arithmetic on one thread. The outputs are checked to agree first.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import numpy as np
import polars as pl
import talib
from common import best_times_alternating

from marketdata_pipeline.indicators.formulas import INDICATOR_COLUMNS, compute_indicators


def make_candles(rows: int, seed: int) -> pl.DataFrame:
    close = 30_000.0 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0.0, 1e-3, rows)))
    start = datetime(2020, 1, 1, tzinfo=UTC)
    open_time = pl.int_range(rows, dtype=pl.Int64, eager=True) * 60_000 + int(
        start.timestamp() * 1000
    )
    return pl.DataFrame({"open_time": open_time.cast(pl.Datetime("ms", "UTC")), "close": close})


def talib_indicators(close: np.ndarray) -> list[np.ndarray]:
    rsis = [talib.RSI(close, n) for n in (6, 14, 24)]
    return [*rsis, talib.EMA(close, 12), talib.EMA(close, 26), *talib.MACD(close, 12, 26, 9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    candles = make_candles(args.rows, args.seed)
    close = candles["close"].to_numpy()

    ours = compute_indicators(candles)
    for column, ref in zip(INDICATOR_COLUMNS, talib_indicators(close), strict=True):
        got = ours[column].fill_null(np.nan).to_numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12 * close.max())

    project, reference = best_times_alternating(
        [lambda: compute_indicators(candles), lambda: talib_indicators(close)], args.repeat
    )
    print(
        f"rows: {args.rows:,}  project: {project:.3f} s  ta-lib: {reference:.3f} s  "
        f"ratio: {project / reference:.1f}x"
    )


if __name__ == "__main__":
    main()
