"""How many trades each minute holds, and the global trade ids that follow from it.

Binance numbers trades and aggTrades contiguously from 0 at listing. Counts are a cheap pure
function of the minute, so a minute's first id is a prefix sum: day totals are computed in
32-day blocks and cached, which makes the first lookup for a market cost well under a second
and every later one a binary search.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from marketdata_pipeline.simulator.intervals import MINUTE_MS
from marketdata_pipeline.simulator.noise import Channel, uniform
from marketdata_pipeline.simulator.symbols import MIN_TRADES_PER_MINUTE, MarketSpec

_DAY = 1_440
_BLOCK_DAYS = 32
_ACTIVITY_MEAN = np.sinh(0.8) / 0.8  # mean of exp(0.8 * (2u - 1)) for uniform u
RAW, AGG = 0, 1
"""Which id sequence: raw trades (/trades, /historicalTrades) or aggTrades (/aggTrades)."""


def activity(spec: MarketSpec, minutes: np.ndarray) -> np.ndarray:
    """Per-minute busyness with mean 1; it scales both the trade count and the volume."""
    return np.exp(0.8 * (2.0 * uniform(spec.seed, Channel.VOLUME, minutes) - 1.0)) / _ACTIVITY_MEAN


def minute_counts(spec: MarketSpec, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(raw trades, aggTrades) per minute; about ``trades_per_minute`` and 70% of it on average."""
    jitter = 0.7 + 0.6 * uniform(spec.seed, Channel.TRADES, minutes)
    raw = np.rint(spec.trades_per_minute * activity(spec, minutes) * jitter).astype(np.int64)
    raw = np.maximum(raw, MIN_TRADES_PER_MINUTE)
    share = 0.55 + 0.3 * uniform(spec.seed, Channel.AGG_SHARE, minutes)
    agg = np.clip(np.rint(raw * share).astype(np.int64), MIN_TRADES_PER_MINUTE, raw)
    return raw, agg


def _listed_counts(spec: MarketSpec, first_minute: int, count: int) -> np.ndarray:
    """(2, count) raw and agg counts of consecutive minutes, zero before listing."""
    minutes = np.arange(first_minute, first_minute + count, dtype=np.int64)
    counts = np.stack(minute_counts(spec, minutes))
    return counts * (minutes >= spec.listing_ms // MINUTE_MS)


@lru_cache(maxsize=8192)
def _block_day_totals(spec: MarketSpec, block: int) -> np.ndarray:
    counts = _listed_counts(spec, block * _BLOCK_DAYS * _DAY, _BLOCK_DAYS * _DAY)
    return counts.reshape(2, _BLOCK_DAYS, _DAY).sum(axis=2)


@lru_cache(maxsize=64)
def _day_starts(spec: MarketSpec, last_block: int) -> np.ndarray:
    """(2, days + 1): first ids of each day from the listing block through ``last_block``."""
    first_block = spec.listing_ms // MINUTE_MS // _DAY // _BLOCK_DAYS
    totals = [_block_day_totals(spec, b) for b in range(first_block, last_block + 1)]
    starts = np.cumsum(np.concatenate(totals, axis=1), axis=1)
    return np.concatenate([np.zeros((2, 1), dtype=np.int64), starts], axis=1)


@lru_cache(maxsize=256)
def _minute_starts(spec: MarketSpec, day: int) -> np.ndarray:
    """(2, 1441): first ids of each minute of ``day``, and of the next day's first minute."""
    first_block = spec.listing_ms // MINUTE_MS // _DAY // _BLOCK_DAYS
    day_start = _day_starts(spec, day // _BLOCK_DAYS)[:, day - first_block * _BLOCK_DAYS]
    inside = np.cumsum(_listed_counts(spec, day * _DAY, _DAY), axis=1)
    return np.concatenate([day_start[:, None], day_start[:, None] + inside], axis=1)


def first_ids(spec: MarketSpec, minute: int) -> tuple[int, int]:
    """(first raw trade id, first aggTrade id) of ``minute`` (the count so far, if it is empty)."""
    starts = _minute_starts(spec, minute // _DAY)[:, minute % _DAY]
    return int(starts[RAW]), int(starts[AGG])


def minute_of(spec: MarketSpec, kind: int, trade_id: int, last_minute: int) -> int | None:
    """The minute holding id ``trade_id >= 0`` of sequence ``kind``; None if after ``last_minute``."""
    listing_minute = spec.listing_ms // MINUTE_MS
    if last_minute < listing_minute:
        return None
    starts = _day_starts(spec, last_minute // _DAY // _BLOCK_DAYS)[kind]
    first_day = listing_minute // _DAY // _BLOCK_DAYS * _BLOCK_DAYS
    day = first_day + int(np.searchsorted(starts, trade_id, side="right")) - 1
    if day > last_minute // _DAY:
        return None
    inside = _minute_starts(spec, day)[kind]
    minute = day * _DAY + int(np.searchsorted(inside, trade_id, side="right")) - 1
    return minute if minute <= last_minute else None
