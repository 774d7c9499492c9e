"""A minute's trades, summarized: six price levels x two taker sides, drawn in O(1) per minute.

Levels are the open, high, low and close prices plus two prices in between; each of the 12
buckets holds a number of aggTrades (at least one), of raw trades and a total quantity. The
candle is the exact sum over the buckets, and ``trades.py`` splits each bucket into its trades
only when asked, so klines never pay for individual trades.

Quantities are counted in level units of ``unit`` quanta, chosen so that price x unit is a
whole number of 1e-8 quote (``MarketSpec.quote_step``): every trade has a quote amount with at
most 8 decimals, and any set of trades sums to a quote volume that prints exactly.

Arrays are bucket-major, (LEVELS, SIDES, minutes), so numpy loops run over minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """``price`` and ``unit`` are (LEVELS, minutes); ``aggs``, ``trades`` and ``units`` are
    (LEVELS, SIDES, minutes); ``opening``/``closing`` are the sides of the first/last trade."""

    price: np.ndarray
    unit: np.ndarray
    aggs: np.ndarray
    trades: np.ndarray
    units: np.ndarray
    opening: np.ndarray
    closing: np.ndarray

    def quantity(self) -> np.ndarray:
        """Quanta per bucket."""
        return self.units * self.unit[:, None, :]


def per_minute(buckets: np.ndarray) -> np.ndarray:
    """Sum over all buckets of each minute."""
    return buckets.reshape(-1, buckets.shape[-1]).sum(axis=0)


def split(total: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Split each minute's integer ``total`` over the buckets in proportion to ``fraction``.

    Every bucket but the first gets the floor of its share and the first the rest. Each share
    is at least 1/50,000 of the total, far above float rounding, so no part is negative.
    """
    parts = np.floor(total * fraction).astype(np.int64)
    parts[0, 0] = total - parts.reshape(BUCKETS, -1)[1:].sum(axis=0)
    return parts


def level_units(spec: MarketSpec, price: np.ndarray) -> np.ndarray:
    """Quanta per quantity unit at each price: ``quote_step / gcd(quote_step, price)``.

    ``quote_step`` is a power of two, so the gcd is the lowest set bit of the price, capped.
    """
    if spec.quote_step == 1:
        return np.ones_like(price)
    return np.maximum(spec.quote_step // (price & -price), 1)


def build_levels(
    spec: MarketSpec,
    minutes: np.ndarray,
    ohlc: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    taker: np.ndarray,
    target_volume: np.ndarray,
    counts: tuple[np.ndarray, np.ndarray],
) -> Levels:
    """Buckets for ``minutes`` given prices, taker-buy share, volume (quanta), (raw, agg) counts.

    Every bucket holds at least one aggTrade, so the minute's first trade can be on the open
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
    fraction = np.stack([share * taker, share * (1.0 - taker)], axis=1)

    aggs = 1 + split(agg - BUCKETS, fraction)
    trades = aggs + split(raw - agg, fraction)
    budget = np.maximum(target_volume - per_minute(trades * unit[:, None, :]), 0)
    units = trades + (budget * fraction / unit[:, None, :]).astype(np.int64)
    sides = fields(draws >> np.uint64(52), 2, 1)
    return Levels(price, unit, aggs, trades, units, opening=sides[0], closing=sides[1])
