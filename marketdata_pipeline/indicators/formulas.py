"""Technical indicators as polars expressions, faithful to TA-Lib's definitions.

Every average is started the way TA-Lib starts it and advanced with TA-Lib's own operations, so
the numbers are ``talib``'s (RSI bit for bit, EMA and MACD within an ulp or two of the price)
instead of drifting by ~1e-3 the way a plain ``ewm_mean(adjust=False)`` does:

* EMA(n): seeded at bar n-1 with the simple mean of the first n closes, then
  ``e = (x - e) * k + e`` with ``k = 2 / (n + 1)``.
* RSI(n): Wilder smoothing (``e = ((n - 1) * e + v) / n``) of gains and losses, seeded at bar n
  with the simple means of the first n gains and losses (diffs 1..n); ``100 * g / (g + l)``, and
  0 when ``g + l`` is 0 (TA-Lib 0.8 tests ``g + l > 0`` with no epsilon band: flat prices give 0).
* MACD(fast, slow, signal): both EMAs start at bar slow-1; the fast one is seeded with the mean
  of the ``fast`` closes ending there (not at bar fast-1). The signal EMA is seeded with the mean
  of the first ``signal`` MACD values, and all three outputs start at bar slow+signal-2.

Why a loop in C (``_recursions.c``) inside ``map_batches``: each value needs the one before.
``ewm_mean`` costs ~5.6 ns per bar and average (the eight columns need nine), and numpy can
only solve the recursion in passes over memory (2-3x TA-Lib). The loop advances the three RSIs
together, and the three EMAs the columns need together, in less time than TA-Lib's calls.

Warm-up bars are null, never a made-up number. Missing closes (null, NaN or infinite) follow
TA-Lib's NaN handling where it is meaningful: leading ones are skipped (the warm-up counts from
the first value, as ``talib`` does), and from the first missing close after that every output
is null, because the recursions have no defined state past a gap (TA-Lib propagates NaN there,
except that its RSI decays to a meaningless 0, which is reported as null here).

After thousands of perfectly flat bars the RSI averages underflow into subnormal floats (about
4,000 bars for RSI(6)): the ratio is then rounding noise, TA-Lib's as much as this one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import polars as pl
import pyarrow as pa

from ..storage.schema import INDICATOR_COLUMNS
from . import _recursions

_RSI_PERIODS = (6, 14, 24)
_EMA_PERIODS = (12, 26)
_MACD = (12, 26, 9)  # fast, slow, signal
_MAX_PERIOD = 100_000  # TA-Lib's

# One output over a run of closes: its values, and the first bar where they mean anything.
_Output = tuple[np.ndarray, int]


def _outputs(count: int, length: int) -> list[np.ndarray]:
    return [np.empty(length) for _ in range(count)]


def _emas(x: np.ndarray, seeds: list[tuple[int, int, int]]) -> list[np.ndarray]:
    """EMAs of ``x``, one per ``(first, bar, n)``: seeded at ``bar`` with the mean of
    ``x[first..bar]``, k = 2 / (n + 1); advanced together (see ``_recursions.c``)."""
    outs = _outputs(len(seeds), len(x))
    chains = [(a, b, 2.0 / (n + 1), o) for (a, b, n), o in zip(seeds, outs, strict=True)]
    _recursions.emas(x, chains)
    return outs


def _ema_seed(n: int) -> tuple[int, int, int]:
    return 0, n - 1, n


def _ema(x: np.ndarray, n: int) -> _Output:
    return _emas(x, [_ema_seed(n)])[0], n - 1


def _rsis(x: np.ndarray, periods: tuple[int, ...]) -> list[_Output]:
    outs = _outputs(len(periods), len(x))
    _recursions.rsis(x, list(zip(periods, outs, strict=True)))
    return list(zip(outs, periods, strict=True))


def _rsi(x: np.ndarray, n: int) -> _Output:
    return _rsis(x, (n,))[0]


def _macd_of(line: np.ndarray, slow: int, signal: int) -> list[_Output]:
    """MACD's three outputs from its line (fast EMA - slow EMA, both from bar slow-1)."""
    start = slow - 1
    bar = start + signal - 1  # TA-Lib reports all three only where the signal exists
    sig = _emas(line, [(start, bar, signal)])[0]
    return [(line, bar), (sig, bar), (line - sig, bar)]


def _macd_fast_seed(fast: int, slow: int) -> tuple[int, int, int]:
    """TA-Lib starts both MACD averages at bar slow-1: the slow one is EMA(slow), the fast one
    is seeded with the mean of the `fast` closes ending there."""
    return slow - fast, slow - 1, fast


def _macd(x: np.ndarray, fast: int, slow: int, signal: int) -> list[_Output]:
    fast, slow = min(fast, slow), max(fast, slow)  # TA-Lib swaps them too
    fast_ema, slow_ema = _emas(x, [_macd_fast_seed(fast, slow), _ema_seed(slow)])
    return _macd_of(np.subtract(fast_ema, slow_ema, out=fast_ema), slow, signal)


def _all_indicators(x: np.ndarray) -> list[_Output]:
    """The eight columns: the three RSIs in one loop, the three EMAs they need in another (the
    MACD's slow average is one of the EMA columns)."""
    fast, slow, signal = _MACD
    *emas, fast_ema = _emas(x, [*map(_ema_seed, _EMA_PERIODS), _macd_fast_seed(fast, slow)])
    slow_ema = emas[_EMA_PERIODS.index(slow)]
    return [
        *_rsis(x, _RSI_PERIODS),
        *((e, n - 1) for e, n in zip(emas, _EMA_PERIODS, strict=True)),
        *_macd_of(fast_ema - slow_ema, slow, signal),
    ]


def _to_series(values: np.ndarray, start: int) -> pl.Series:
    """Wrap ``values`` without copying, null before ``start``."""
    length, start = len(values), min(start, len(values))
    validity = np.full((length + 7) // 8, 0xFF, dtype=np.uint8)
    validity[: start // 8] = 0
    if start % 8:
        validity[start // 8] = (0xFF << (start % 8)) & 0xFF
    buffers = [pa.py_buffer(validity), pa.py_buffer(values)]
    return pl.Series(pa.Array.from_buffers(pa.float64(), length, buffers, null_count=start))


def _on_valid_run(
    close: pl.Series, compute: Callable[[np.ndarray], list[_Output]]
) -> list[pl.Series]:
    """Run ``compute`` on the closes from the first present one up to the next missing one
    (NaN and infinities count as missing); return its outputs as full-length Series,
    null-padded."""
    close = close.cast(pl.Float64)
    height = close.len()
    first, run = 0, height
    if not close.is_finite().all(ignore_nulls=False):
        close = (
            close.to_frame().select(pl.when(pl.first().is_finite()).then(pl.first())).to_series()
        )
        first = int(close.is_not_null().arg_max() or 0)
        run = int(close.slice(first).is_null().append(pl.Series([True])).arg_max() or 0)
    outputs = [_to_series(v, s) for v, s in compute(close.slice(first, run).to_numpy())]
    if run == height:
        return outputs
    before = pl.repeat(None, first, dtype=pl.Float64, eager=True)
    after = pl.repeat(None, height - first - run, dtype=pl.Float64, eager=True)
    return [pl.concat([before, s, after]) for s in outputs]


def _check_period(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= _MAX_PERIOD:
        raise ValueError(
            f"{name} must be an integer from {minimum} to {_MAX_PERIOD}, got {value!r}"
        )


def _expr(close: pl.Expr | str, compute: Callable[[np.ndarray], list[_Output]], i: int) -> pl.Expr:
    def apply(series: pl.Series) -> pl.Series:
        return _on_valid_run(series, compute)[i].alias(series.name)

    expr = pl.col(close) if isinstance(close, str) else close
    return expr.map_batches(apply, return_dtype=pl.Float64)


def _single(x: np.ndarray, indicator: Callable[..., _Output], **params: int) -> list[_Output]:
    return [indicator(x, **params)]


def ema(close: pl.Expr | str, n: int) -> pl.Expr:
    """TA-Lib EMA(n): SMA-seeded at bar n-1, null before."""
    _check_period("n", n, 2)
    return _expr(close, partial(_single, indicator=_ema, n=n), 0)


def rsi(close: pl.Expr | str, n: int) -> pl.Expr:
    """TA-Lib RSI(n): Wilder-smoothed, SMA-seeded at bar n, null before; within [0, 100]."""
    _check_period("n", n, 2)
    return _expr(close, partial(_single, indicator=_rsi, n=n), 0)


def macd(
    close: pl.Expr | str, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """TA-Lib MACD: (macd, signal, hist), all null before bar slow+signal-2.

    Each of the three expressions computes the whole MACD; ``compute_indicators`` does it once.
    """
    _check_period("fast", fast, 2)
    _check_period("slow", slow, 2)
    _check_period("signal", signal, 1)
    compute = partial(_macd, fast=fast, slow=slow, signal=signal)
    line, sig, hist = (_expr(close, compute, i) for i in range(3))
    return line, sig, hist


def compute_indicators(candles: pl.DataFrame) -> pl.DataFrame:
    """``open_time`` plus the ``INDICATOR_COLUMNS`` (Float64, null in warm-up), row for row.

    Rows are used in the order given: sort by ``open_time`` first if needed.
    """
    columns = _on_valid_run(candles.get_column("close"), _all_indicators)
    named = [c.alias(name) for c, name in zip(columns, INDICATOR_COLUMNS, strict=True)]
    return pl.DataFrame([candles.get_column("open_time"), *named])
