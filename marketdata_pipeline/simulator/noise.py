"""Counter-based random numbers: any index range can be drawn without generating history.

splitmix64 is a bijective mixer, so ``uniform(seed, channel, i)`` is a pure function of its
arguments; numpy's uint64 arithmetic wraps modulo 2**64, exactly what the mixer needs.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB


class Channel(IntEnum):
    """Independent noise streams of one market; octave ``i`` of the price uses ``OCTAVE + i``."""

    CLOSE = 1
    HIGH = 2
    LOW = 3
    VOLUME = 4
    ACTIVITY = 5
    TRADES = 6
    TAKER = 7
    AGG_SHARE = 8
    LEVEL_PRICE = 9
    LEVEL_SIDE = 10
    BUCKET_WEIGHT = 11
    AGG_TRADES = 12
    AGG_UNITS = 13
    AGG_ORDER = 14
    AGG_TIME = 15
    RAW_UNITS = 16
    BOOK_TOP = 17
    BOOK_PHASE = 18
    BOOK_LEVEL = 19
    OCTAVE = 100


def _mix_scalar(x: int) -> int:
    z = (x + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK
    return z ^ (z >> 31)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Vectorized splitmix64 finalizer over a uint64 array."""
    z = x + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MUL1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MUL2)
    return z ^ (z >> np.uint64(31))


def bits(seed: int, channel: int, index: np.ndarray) -> np.ndarray:
    """64 random bits (uint64) per index, independent per (seed, channel)."""
    key = np.uint64(_mix_scalar(_mix_scalar(seed) ^ channel))
    return splitmix64(np.asarray(index, dtype=np.int64).astype(np.uint64) + key)


def uniform(seed: int, channel: int, index: np.ndarray) -> np.ndarray:
    """Floats in [0, 1), one per index, independent per (seed, channel)."""
    return (bits(seed, channel, index) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def random_shares(seed: int, channel: int, index: np.ndarray) -> np.ndarray:
    """Integers in [1, 1024], one per index: weights that integer arithmetic splits exactly."""
    return (bits(seed, channel, index) >> np.uint64(54)).astype(np.int64) + 1


def fields(random_bits: np.ndarray, count: int, width: int) -> np.ndarray:
    """``count`` independent ``width``-bit integers cut from each 64-bit value: shape (count, n)."""
    shifts = np.arange(count, dtype=np.uint64)[:, None] * np.uint64(width)
    return ((random_bits >> shifts) & np.uint64((1 << width) - 1)).astype(np.int64)


def value_noise(seed: int, channel: int, index: np.ndarray, scale: int) -> np.ndarray:
    """Smooth noise in [-1, 1] varying over ``scale`` steps; ``index`` must be ascending.

    Lattice values are hashed only once per lattice point, so coarse scales cost almost nothing.
    """
    k = index // scale
    t = (index - k * scale).astype(np.float64) / scale
    k0 = int(k[0])
    lattice = 2.0 * uniform(seed, channel, np.arange(k0, int(k[-1]) + 2, dtype=np.int64)) - 1.0
    rel = k - k0
    v0 = lattice[rel]
    v1 = lattice[rel + 1]
    return v0 + (v1 - v0) * (t * t * (3.0 - 2.0 * t))
