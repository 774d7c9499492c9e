"""A minute's trades, summarized: six price levels x two taker sides, drawn in O(1) per minute.

Levels are the open, high, low and close prices plus two prices in between; each of the 12
buckets holds raw trades (at least one) and a total quantity. The candle is the exact sum over
the buckets, and ``trades.py`` splits each bucket into aggTrades and those into raw trades only
when asked, so klines never pay for individual trades.

Quantities are counted in level units of ``unit`` quanta, chosen so that price x unit is a
whole number of 1e-8 quote (``MarketSpec.quote_step``): every trade has a quote amount with at
most 8 decimals, and any set of trades sums to a quote volume that prints exactly.

Arrays are (SIDES, LEVELS, minutes) so numpy loops run over minutes. Counts and quantities are
whole numbers held in float64, exact far beyond a minute's totals and much cheaper to compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from marketdata_pipeline.simulator.noise import Channel, bits, fields
from marketdata_pipeline.simulator.symbols import MarketSpec

OPEN, HIGH, LOW, CLOSE = range(4)
LEVELS, SIDES = 6, 2
BUCKETS = LEVELS * SIDES
"""Side 0 is a taker buy, side 1 a taker sell (the buyer is the maker)."""

# Relative activity of the open, high, low, close and the two inner price levels.
_LEVEL_WEIGHT = np.array([2.0, 1.0, 1.0, 2.0, 4.0, 4.0])[:, None]


@dataclass(frozen=True)
class Levels:
    """``price`` and ``unit`` (quanta per quantity unit) are (LEVELS, minutes) int64; ``trades``
    and ``units`` (SIDES, LEVELS, minutes); ``raw``/``agg`` the minute's trade and aggTrade
    counts; ``opening``/``closing`` the sides of its first and last trade."""

    price: np.ndarray
    unit: np.ndarray
    trades: np.ndarray
    units: np.ndarray
    raw: np.ndarray
    agg: np.ndarray
    opening: np.ndarray
    closing: np.ndarray


def level_units(spec: MarketSpec, price: np.ndarray) -> np.ndarray:
    """Quanta per quantity unit at each price: ``quote_step / gcd(quote_step, price)``.

    ``quote_step`` is a power of two, so that depends only on ``price % quote_step``.
    """
    return np.take(_unit_table(spec.quote_step), price & (spec.quote_step - 1))


@lru_cache(maxsize=16)
def _unit_table(step: int) -> np.ndarray:
    return np.array([step // math.gcd(step, rest) for rest in range(step)], dtype=np.int64)


def build_levels(
    spec: MarketSpec,
    minutes: np.ndarray,
    ohlc: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    taker: np.ndarray,
    target_volume: np.ndarray,
    counts: tuple[np.ndarray, np.ndarray],
) -> Levels:
    """Buckets for ``minutes`` given prices, taker-buy share, volume (quanta), (raw, agg) counts.

    Every bucket holds at least one trade, so the minute's first trade can be on the open
    level and its last on the close level, on sides two hash bits pick.
    """
    open_, high, low, close = ohlc
    raw, agg = counts
    draws = bits(spec.seed, Channel.LEVEL_PRICE, minutes)
    price = np.empty((LEVELS, len(minutes)), dtype=np.int64)
    price[OPEN], price[HIGH], price[LOW], price[CLOSE] = open_, high, low, close
    price[4:] = low + (fields(draws, 2, 26) * (2.0**-26 * (high - low + 1))).astype(np.int64)
    unit = level_units(spec, price)

    share = _LEVEL_WEIGHT * (fields(bits(spec.seed, Channel.BUCKET_WEIGHT, minutes), 6, 6) + 1.0)
    share /= share.sum(axis=0)
    buy = share * taker
    sell = share - buy

    # Raw trades: one per bucket, the rest in proportion to the shares, rounding left-overs on
    # the open level's buy side. Each share is at least 1/3000, far above float rounding.
    spread = (raw - BUCKETS).astype(np.float64)
    trades = np.empty((SIDES, LEVELS, len(minutes)))
    np.floor(buy * spread, out=trades[0])
    np.floor(sell * spread, out=trades[1])
    trades[0, OPEN] += spread - trades[0].sum(axis=0) - trades[1].sum(axis=0)
    trades += 1.0

    # Quantity: a unit per trade, then the volume left after the largest possible units.
    extra = np.maximum(target_volume - raw * spec.quote_step, 0) * share / unit
    units = np.empty_like(trades)
    np.add(trades[0], np.floor(extra * taker), out=units[0])
    np.add(trades[1], np.floor(extra * (1.0 - taker)), out=units[1])
    sides = fields(draws >> np.uint64(52), 2, 1)
    return Levels(price, unit, trades, units, raw, agg, opening=sides[0], closing=sides[1])
