"""Deterministic 1-minute candles: a pure function of (market, minute index).

The log price is a sum of smooth value-noise octaves (hours to a year) plus per-minute noise,
so any minute range is computed directly without replaying history. ``open`` is the previous
minute's ``close`` because both come from the same close-price function. Volume, quote volume,
trade count and taker sums are exact sums over the minute's trade buckets (``levels.py``).
"""

from __future__ import annotations

import numpy as np

from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.intervals import MINUTE_MS
from marketdata_pipeline.simulator.levels import CLOSE, HIGH, LOW, OPEN, Levels, build_levels
from marketdata_pipeline.simulator.noise import Channel, uniform, value_noise
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trade_ids import activity, minute_counts

# (scale in minutes, amplitude in log-price units): roughly Brownian, ~3% daily moves.
_OCTAVES = (
    (525_600, 0.45),
    (131_040, 0.22),
    (43_200, 0.12),
    (10_080, 0.06),
    (1_440, 0.03),
    (240, 0.012),
    (60, 0.005),
    (15, 0.0025),
)
_MINUTE_NOISE = 0.0008
_WICK = 0.0008
_SLICE = 2_048  # minutes: a (6, 2048) float64 array is 96 KiB, under the 128 KiB threshold


def _close_ticks(spec: MarketSpec, minutes: np.ndarray) -> np.ndarray:
    log_price = _MINUTE_NOISE * (2.0 * uniform(spec.seed, Channel.CLOSE, minutes) - 1.0)
    for octave, (scale, amplitude) in enumerate(_OCTAVES):
        log_price += amplitude * value_noise(spec.seed, Channel.OCTAVE + octave, minutes, scale)
    ticks = np.rint(spec.base_price * np.exp(log_price) / spec.tick).astype(np.int64)
    return np.maximum(ticks, 1)


def _inputs(spec: MarketSpec, start_minute: int, end_minute: int) -> tuple:
    """Per-minute arguments of ``build_levels``: minutes, OHLC ticks, taker share, volume, counts."""
    minutes = np.arange(start_minute, end_minute, dtype=np.int64)
    closes = _close_ticks(spec, np.arange(start_minute - 1, end_minute, dtype=np.int64))
    open_, close = closes[:-1], closes[1:]
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    wick_high = np.floor(top * _WICK * uniform(spec.seed, Channel.HIGH, minutes) ** 2)
    wick_low = np.floor(bottom * _WICK * uniform(spec.seed, Channel.LOW, minutes) ** 2)
    high = top + wick_high.astype(np.int64)
    low = np.maximum(bottom - wick_low.astype(np.int64), 1)

    move = np.abs(np.log(close / open_))
    busy = activity(spec, minutes) * (1.0 + 300.0 * move)
    busy *= 1.0 + 0.4 * value_noise(spec.seed, Channel.ACTIVITY, minutes, 4_320)
    volume = np.rint(spec.base_volume * busy / spec.volume_quantum).astype(np.int64)
    taker = 0.35 + 0.3 * uniform(spec.seed, Channel.TAKER, minutes)
    return minutes, (open_, high, low, close), taker, volume, minute_counts(spec, minutes)


def minute_levels(spec: MarketSpec, start_minute: int, end_minute: int) -> Levels:
    """Trade buckets of minute indices ``[start_minute, end_minute)`` (non-empty range)."""
    return build_levels(spec, *_inputs(spec, start_minute, end_minute))


def minute_candles(spec: MarketSpec, start_minute: int, end_minute: int) -> Candles:
    """Candles for minute indices ``[start_minute, end_minute)`` (minute index = ms // 60000).

    Quote amounts are integers in units of ``spec.quote_units`` per 1.0 quote asset. Buckets
    are built in slices whose arrays stay below malloc's mmap threshold: fresh pages for every
    large temporary would double the cost.
    """
    if end_minute <= start_minute:
        return Candles.empty()
    minutes, ohlc, taker, volume, (raw, agg) = _inputs(spec, start_minute, end_minute)
    parts = []
    for first in range(0, len(minutes), _SLICE):
        at = slice(first, first + _SLICE)
        ohlc_at = (ohlc[0][at], ohlc[1][at], ohlc[2][at], ohlc[3][at])
        levels = build_levels(spec, minutes[at], ohlc_at, taker[at], volume[at], (raw[at], agg[at]))
        parts.append(_sums(minutes[at], levels))
    return Candles.concat(parts)


def _sums(minutes: np.ndarray, levels: Levels) -> Candles:
    buy, sell = levels.units[0] * levels.unit, levels.units[1] * levels.unit
    buy_quote, sell_quote = buy * levels.price, sell * levels.price
    taker_base, taker_quote = buy.sum(axis=0), buy_quote.sum(axis=0)
    return Candles(
        time=minutes * MINUTE_MS,
        open=levels.price[OPEN],
        high=levels.price[HIGH],
        low=levels.price[LOW],
        close=levels.price[CLOSE],
        volume=(taker_base + sell.sum(axis=0)).astype(np.int64),
        quote_volume=(taker_quote + sell_quote.sum(axis=0)).astype(np.int64),
        trades=levels.raw,
        taker_base=taker_base.astype(np.int64),
        taker_quote=taker_quote.astype(np.int64),
    )
