"""Technical indicators as polars expressions, faithful to TA-Lib's definitions.

Every average is started the way TA-Lib starts it, so the numbers agree with ``talib`` to a few
ulps (MACD: a few ulps of the price level) instead of drifting by ~1e-3 the way a plain
``ewm_mean(adjust=False)`` does:

* EMA(n): seeded at bar n-1 with the simple mean of the first n closes, then
  ``e = (1 - k) * e + k * x`` with ``k = 2 / (n + 1)``.
* RSI(n): Wilder smoothing (``e = ((n - 1) * e + v) / n``) of gains and losses, seeded at bar n
  with the simple means of the first n gains and losses (diffs 1..n); ``100 * g / (g + l)``, and
  0 when ``g + l`` is 0 (TA-Lib 0.8 tests ``g + l > 0`` with no epsilon band: flat prices give 0).
* MACD(fast, slow, signal): both EMAs start at bar slow-1; the fast one is seeded with the mean
  of the ``fast`` closes ending there (not at bar fast-1). The signal EMA is seeded with the mean
  of the first ``signal`` MACD values, and all three outputs start at bar slow+signal-2.

Why not ``ewm_mean``: it expresses these seeded recursions exactly (null before the seed bar,
the seed, then the raw values), but costs ~5.6 ns per bar and average, and the eight columns
need ten averages: ~3x TA-Lib's time on two idle cores, 4.5x on one. ``_recurrences`` solves the
same recursion block-wise with small matrix products (~1 ns) inside ``map_batches``, all the
averages of one input (the closes; the gains; the moves) from one copy of it; it differs from
TA-Lib's sequential loop by rounding only. Each average runs from bar 0 and is then restarted
at its seed bar with its seed (``_restart``: the recursion is linear, so the difference is a
decaying term), which places every seed exactly as above. MACD reuses EMA(12) and EMA(26).

Warm-up bars are null, never a made-up number. Missing closes (null or NaN) follow TA-Lib's NaN
handling where it is meaningful: leading ones are skipped (the warm-up counts from the first
value, as ``talib`` does), and from the first missing close after that every output is null,
because the recursions have no defined state past a gap (TA-Lib propagates NaN there, except
that its RSI decays to a meaningless 0, which is reported as null here).

Known limit: after thousands of perfectly flat bars the RSI averages underflow into subnormal
floats (about 4,000 bars for RSI(6)); TA-Lib's ratio and this one are then both rounding noise.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import polars as pl
import pyarrow as pa

from ..storage.schema import INDICATOR_COLUMNS

_RSI_PERIODS = (6, 14, 24)
_BLOCK = 16
# Rows per BLAS call (see _matmul): OpenBLAS stays on the calling thread while rows x 16 x 16
# (matrix) or rows x 16 (vector) is under 262,144 or 9,216.
_GEMM_ROWS, _GEMV_ROWS = 1008, 560
_TINY = np.nextafter(0.0, 1.0)  # the smallest positive float

# One output over a run of closes: its values, and the first bar where they mean anything.
_Output = tuple[np.ndarray, int]


def _empty(length: int) -> np.ndarray:
    """An uninitialised float64 array from Arrow's memory pool.

    The pool recycles memory between calls; fresh numpy arrays of this size are new pages from
    the OS every time, and their page faults cost more than the arithmetic here.
    """
    return np.frombuffer(pa.allocate_buffer(length * 8), dtype=np.float64)


def _blocks(length: int) -> np.ndarray:
    return _empty(-(-length // _BLOCK) * _BLOCK).reshape(-1, _BLOCK)


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a @ b`` into ``out`` in pieces of rows: each stays in cache and is small enough that
    OpenBLAS runs it on this thread. Its helper threads would otherwise spin after each call
    and, on a busy machine, take the CPU the rest of the work needs."""
    piece = _GEMM_ROWS if b.ndim == 2 else _GEMV_ROWS
    for rows in range(0, len(a), piece):
        np.matmul(a[rows : rows + piece], b, out=out[rows : rows + piece])
    return out


def _decay(r: float) -> np.ndarray:
    lag = np.arange(_BLOCK)
    return np.where(lag[None, :] >= lag[:, None], r ** np.abs(lag[None, :] - lag[:, None]), 0.0)


def _recurrences(u: np.ndarray, steps: list[tuple[float, float]]) -> list[np.ndarray]:
    """For each ``(r, a)``: ``y[t] = r * y[t-1] + a * u[t]`` (``y[-1] = 0``) over ``u.ravel()``,
    as blocks shaped like ``u``.

    Within a block of 16 the answer is ``u @ (a * P)`` with ``P[i, j] = r ** (j - i)`` for
    ``j >= i``. The state entering each block solves the same recursion over the block ends
    (with factor ``r ** 16``, recursively) and is folded into the block's first input. The
    block ends of all averages come from one product, so ``u`` is read once for them.
    """
    decays = [a * _decay(r) for r, a in steps]
    count, outs = len(u), []
    if count > 1:  # block ends, each block entered at 0
        ends = _matmul(
            u[:-1], np.stack([d[:, -1] for d in decays], 1), np.empty((count - 1, len(steps)))
        )
        first = u[:, 0].copy()
    for i, ((r, a), decay) in enumerate(zip(steps, decays, strict=True)):
        if count > 1:
            if count <= 64:
                carried, state, step = np.empty(count - 1), 0.0, r**_BLOCK
                for row, end in enumerate(ends[:, i].tolist()):
                    state = state * step + end
                    carried[row] = state
            else:
                nested = np.zeros((-(-(count - 1) // _BLOCK), _BLOCK))
                nested.ravel()[: count - 1] = ends[:, i]
                carried = _recurrences(nested, [(r**_BLOCK, 1.0)])[0].ravel()
            u[1:, 0] = first[1:] + (r / a) * carried[: count - 1]
        outs.append(_matmul(u, decay, _blocks(u.size)))
    if count > 1:
        u[:, 0] = first
    return outs


def _restart(average: np.ndarray, bar: int, seed: float, r: float) -> np.ndarray:
    """``average`` with its state at ``bar`` replaced by ``seed``, in place: the recursion is
    linear, so the two differ by ``(seed - average[bar]) * r ** (t - bar)`` from ``bar`` on,
    added until ``r ** (t - bar)`` falls below 2**-110 (far below rounding from then on)."""
    span = int(np.ceil(-110 * np.log(2) / np.log(r))) + 1 if r > 0.0 else 1
    steps = min(len(average) - bar, span)
    if steps > 0:
        average[bar : bar + steps] += (seed - average[bar]) * r ** np.arange(steps)
    return average


def _averages(u: np.ndarray, length: int, seeded: list[tuple[float, float, int, float]]):
    """TA-Lib's seeded averages of one input (bar t's value at ``u.ravel()[t]``): for each
    ``(r, a, bar, seed)``, ``seed`` at ``bar``, then ``y = r * y + a * v``. Values before ``bar``
    mean nothing (they are never shown)."""
    outs = _recurrences(u, [(r, a) for r, a, _, _ in seeded])
    return [
        _restart(out.ravel()[:length], bar, seed, r)
        for out, (r, _, bar, seed) in zip(outs, seeded, strict=True)
    ]


def _padded(length: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocks for ``length`` values, zero past them, and the flat view of the values."""
    u = _blocks(length)
    flat = u.ravel()
    flat[length:] = 0.0
    return u, flat[:length]


def _ema_seed(x: np.ndarray, n: int) -> tuple[float, float, int, float]:
    k = 2.0 / (n + 1)
    return 1.0 - k, k, n - 1, float(x[:n].mean()) if len(x) >= n else 0.0


def _emas(x: np.ndarray, periods: tuple[int, ...]) -> list[_Output]:
    """TA-Lib EMA(n) for each period: the mean of the first n closes at bar n-1, then the EMA."""
    u, flat = _padded(len(x))
    flat[:] = x
    outs = _averages(u, len(x), [_ema_seed(x, n) for n in periods])
    return [(out, n - 1) for out, n in zip(outs, periods, strict=True)]


def _rsis(x: np.ndarray, periods: tuple[int, ...]) -> list[_Output]:
    """``100 * g / (g + l)`` as ``G / m``: G the average gain scaled by 100 and m the average of
    absolute moves (averages are linear, so m is g + l with a pass less); clipped at 100, which
    rounding could pass by an ulp."""
    length = len(x)
    gains, gain = _padded(length)
    moves, move = _padded(length)
    gain[:1] = move[:1] = 0.0  # bar t holds the move from bar t-1 to t
    np.subtract(x[1:], x[:-1], out=move[1:])
    np.maximum(move, 0.0, out=gain)
    np.abs(move, out=move)

    def seeded(values: np.ndarray, scale: float) -> list[tuple[float, float, int, float]]:
        seeds = [scale * values[1 : n + 1].mean() if length > n else 0.0 for n in periods]
        return [((n - 1) / n, scale / n, n, s) for n, s in zip(periods, seeds, strict=True)]

    outs = []
    gs = _averages(gains, length, seeded(gain, 100.0))
    ms = _averages(moves, length, seeded(move, 1.0))
    for n, g, m in zip(periods, gs, ms, strict=True):
        np.maximum(m, _TINY, out=m)  # a flat window (0 / 0) gives TA-Lib's 0
        np.divide(g, m, out=g)
        outs.append((np.minimum(g, 100.0, out=g), n))
    return outs


def _macd(
    x: np.ndarray, fast: int, slow: int, signal: int, emas: tuple[_Output, _Output] | None = None
) -> list[_Output]:
    """TA-Lib's MACD. Its slow EMA is EMA(slow); its fast one is EMA(fast) restarted at bar
    slow-1 from the mean of the ``fast`` closes ending there, so both are taken from ``emas``
    (EMA(fast), EMA(slow)) when the caller has them."""
    fast, slow = min(fast, slow), max(fast, slow)  # TA-Lib swaps them too
    length, start = len(x), slow - 1
    bar = start + signal - 1  # TA-Lib reports all three only where the signal exists
    if length <= bar:
        return [(np.zeros(length), bar)] * 3
    (ema_fast, _), (ema_slow, _) = emas or _emas(x, (fast, slow))
    kf, kg = 2.0 / (fast + 1), 2.0 / (signal + 1)
    u, line = _padded(length)
    np.subtract(ema_fast, ema_slow, out=line)
    line[:start] = 0.0
    _restart(line, start, x[slow - fast : slow].mean() - ema_slow[start], 1.0 - kf)
    (sig,) = _averages(u, length, [(1.0 - kg, kg, bar, float(line[start : bar + 1].mean()))])
    hist = np.subtract(line, sig, out=_empty(length))
    return [(line, bar), (sig, bar), (hist, bar)]


def _all_indicators(x: np.ndarray) -> list[_Output]:
    emas = _emas(x, (12, 26))
    return [*_rsis(x, _RSI_PERIODS), *emas, *_macd(x, 12, 26, 9, emas)]


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
    (NaN counts as missing); return its outputs as full-length Series, null-padded."""
    close = close.cast(pl.Float64)
    height = close.len()
    first, run = 0, height
    if close.has_nulls() or close.is_nan().any():
        close = close.fill_nan(None)
        first = int(close.is_not_null().arg_max() or 0)
        run = int(close.slice(first).is_null().append(pl.Series([True])).arg_max() or 0)
    outputs = [_to_series(v, s) for v, s in compute(close.slice(first, run).to_numpy())]
    if run == height:
        return outputs
    before = pl.repeat(None, first, dtype=pl.Float64, eager=True)
    after = pl.repeat(None, height - first - run, dtype=pl.Float64, eager=True)
    return [pl.concat([before, s, after]) for s in outputs]


def _check_period(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _expr(close: pl.Expr | str, compute: Callable[[np.ndarray], list[_Output]], i: int) -> pl.Expr:
    def apply(series: pl.Series) -> pl.Series:
        return _on_valid_run(series, compute)[i].alias(series.name)

    expr = pl.col(close) if isinstance(close, str) else close
    return expr.map_batches(apply, return_dtype=pl.Float64)


def ema(close: pl.Expr | str, n: int) -> pl.Expr:
    """TA-Lib EMA(n): SMA-seeded at bar n-1, null before."""
    _check_period("n", n, 2)
    return _expr(close, partial(_emas, periods=(n,)), 0)


def rsi(close: pl.Expr | str, n: int) -> pl.Expr:
    """TA-Lib RSI(n): Wilder-smoothed, SMA-seeded at bar n, null before; within [0, 100]."""
    _check_period("n", n, 2)
    return _expr(close, partial(_rsis, periods=(n,)), 0)


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
