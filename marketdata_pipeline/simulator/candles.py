"""Columnar candles in exact integer units, and their exact aggregation.

Prices are integer ticks and volumes integer quanta, so max/min/first/last/sum aggregation is
exact; floats only appear when a page is formatted for the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

_SUMMED = ("volume", "quote_volume", "trades", "taker_base", "taker_quote")


@dataclass(frozen=True)
class Candles:
    """Struct of equally long int64 arrays; ``time`` is the candle open time in ms."""

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    quote_volume: np.ndarray
    trades: np.ndarray
    taker_base: np.ndarray
    taker_quote: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls) -> Candles:
        return cls(*(np.empty(0, dtype=np.int64) for _ in fields(cls)))

    def columns(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def select(self, index: np.ndarray | slice) -> Candles:
        """Rows picked by boolean mask, index array or slice."""
        return Candles(**{name: col[index] for name, col in self.columns().items()})

    @classmethod
    def concat(cls, parts: list[Candles]) -> Candles:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        names = [f.name for f in fields(cls)]
        return cls(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})

    def group(self, keys: np.ndarray) -> Candles:
        """Aggregate runs of equal, non-decreasing ``keys``; each key becomes the open time."""
        if not len(self):
            return self
        starts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
        ends = np.concatenate((starts[1:], [len(keys)])) - 1
        summed = {name: np.add.reduceat(getattr(self, name), starts) for name in _SUMMED}
        return Candles(
            time=keys[starts],
            open=self.open[starts],
            high=np.maximum.reduceat(self.high, starts),
            low=np.minimum.reduceat(self.low, starts),
            close=self.close[ends],
            **summed,
        )
