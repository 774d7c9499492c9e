"""Deterministic 1-minute candles: a pure function of (market, minute index).

The log price is a sum of smooth value-noise octaves (hours to a year) plus per-minute noise,
so any minute range is computed directly without replaying history. ``open`` is the previous
minute's ``close`` because both come from the same close-price function.
"""

from __future__ import annotations

import numpy as np

from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.intervals import MINUTE_MS
from marketdata_pipeline.simulator.noise import uniform, value_noise
from marketdata_pipeline.simulator.symbols import MarketSpec

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
_TRADES_PER_MINUTE = 300.0

# Noise channels; octaves use channel 100 + octave number.
_CH_CLOSE, _CH_HIGH, _CH_LOW, _CH_VOLUME, _CH_ACTIVITY, _CH_TRADES, _CH_TAKER = range(1, 8)


def _close_ticks(spec: MarketSpec, minutes: np.ndarray) -> np.ndarray:
    log_price = _MINUTE_NOISE * (2.0 * uniform(spec.seed, _CH_CLOSE, minutes) - 1.0)
    for octave, (scale, amplitude) in enumerate(_OCTAVES):
        log_price += amplitude * value_noise(spec.seed, 100 + octave, minutes, scale)
    ticks = np.rint(spec.base_price * np.exp(log_price) / spec.tick).astype(np.int64)
    return np.maximum(ticks, 1)


def minute_candles(spec: MarketSpec, start_minute: int, end_minute: int) -> Candles:
    """Candles for minute indices ``[start_minute, end_minute)`` (minute index = ms // 60000)."""
    if end_minute <= start_minute:
        return Candles.empty()
    minutes = np.arange(start_minute, end_minute, dtype=np.int64)
    closes = _close_ticks(spec, np.arange(start_minute - 1, end_minute, dtype=np.int64))
    open_, close = closes[:-1], closes[1:]
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    wick_high = np.floor(top * _WICK * uniform(spec.seed, _CH_HIGH, minutes) ** 2)
    wick_low = np.floor(bottom * _WICK * uniform(spec.seed, _CH_LOW, minutes) ** 2)
    high = top + wick_high.astype(np.int64)
    low = np.maximum(bottom - wick_low.astype(np.int64), 1)

    move = np.abs(np.log(close / open_))
    activity = np.exp(0.8 * (2.0 * uniform(spec.seed, _CH_VOLUME, minutes) - 1.0))
    activity *= 1.0 + 0.4 * value_noise(spec.seed, _CH_ACTIVITY, minutes, 4_320)
    activity *= 1.0 + 300.0 * move
    volume = np.maximum(np.rint(spec.base_volume * activity / spec.volume_quantum), 1)
    volume = volume.astype(np.int64)

    typical_price = (open_ + high + low + close) * (spec.tick / 4.0)
    base_amount = volume * spec.volume_quantum
    quote = np.maximum(np.rint(base_amount * typical_price / spec.quote_quantum), 1).astype(
        np.int64
    )
    trade_rate = _TRADES_PER_MINUTE / spec.base_volume
    trade_jitter = 0.7 + 0.6 * uniform(spec.seed, _CH_TRADES, minutes)
    trades = np.maximum(np.rint(base_amount * trade_rate * trade_jitter), 1).astype(np.int64)
    taker = 0.35 + 0.3 * uniform(spec.seed, _CH_TAKER, minutes)
    return Candles(
        time=minutes * MINUTE_MS,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        quote_volume=quote,
        trades=trades,
        taker_base=np.floor(volume * taker).astype(np.int64),
        taker_quote=np.floor(quote * taker).astype(np.int64),
    )
