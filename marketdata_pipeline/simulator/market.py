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
from marketdata_pipeline.simulator.levels import (
    CLOSE,
    HIGH,
    LOW,
    OPEN,
    Levels,
    build_levels,
    per_minute,
)
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


def _close_ticks(spec: MarketSpec, minutes: np.ndarray) -> np.ndarray:
    log_price = _MINUTE_NOISE * (2.0 * uniform(spec.seed, Channel.CLOSE, minutes) - 1.0)
    for octave, (scale, amplitude) in enumerate(_OCTAVES):
        log_price += amplitude * value_noise(spec.seed, Channel.OCTAVE + octave, minutes, scale)
    ticks = np.rint(spec.base_price * np.exp(log_price) / spec.tick).astype(np.int64)
    return np.maximum(ticks, 1)


def minute_levels(spec: MarketSpec, start_minute: int, end_minute: int) -> Levels:
    """Trade buckets of minute indices ``[start_minute, end_minute)`` (non-empty range)."""
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
    counts = minute_counts(spec, minutes)
    return build_levels(spec, minutes, (open_, high, low, close), taker, volume, counts)


def minute_candles(spec: MarketSpec, start_minute: int, end_minute: int) -> Candles:
    """Candles for minute indices ``[start_minute, end_minute)`` (minute index = ms // 60000).

    Quote amounts are integers in units of ``spec.quote_units`` per 1.0 quote asset.
    """
    if end_minute <= start_minute:
        return Candles.empty()
    levels = minute_levels(spec, start_minute, end_minute)
    quantity = levels.quantity()
    quote = quantity * levels.price[:, None, :]
    return Candles(
        time=np.arange(start_minute, end_minute, dtype=np.int64) * MINUTE_MS,
        open=levels.price[OPEN],
        high=levels.price[HIGH],
        low=levels.price[LOW],
        close=levels.price[CLOSE],
        volume=per_minute(quantity),
        quote_volume=per_minute(quote),
        trades=per_minute(levels.trades),
        taker_base=quantity[:, 0].sum(axis=0),
        taker_quote=quote[:, 0].sum(axis=0),
    )
