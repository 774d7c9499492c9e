"""Binance kline intervals and their calendar alignment.

Fixed-width intervals are aligned to the Unix epoch, except ``1w`` (Monday 00:00 UTC, as
Binance does) and ``1M`` (first day of each calendar month). All functions work on
millisecond timestamps held in ``int64`` numpy arrays so that whole pages are aligned at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 1_440 * MINUTE_MS
_MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; the first Monday is 4 days later.


@dataclass(frozen=True)
class Interval:
    """One kline interval; ``width_ms == 0`` marks the calendar-month interval."""

    name: str
    width_ms: int
    offset_ms: int = 0

    @property
    def is_monthly(self) -> bool:
        return self.width_ms == 0

    @property
    def is_hourly_multiple(self) -> bool:
        """True when candles are whole hours, so they can be built from cached hour candles."""
        return self.is_monthly or (self.width_ms % HOUR_MS == 0 and self.offset_ms % HOUR_MS == 0)

    def floor(self, ms: np.ndarray | int) -> np.ndarray:
        """Open time of the candle containing each timestamp."""
        t = np.asarray(ms, dtype=np.int64)
        if self.is_monthly:
            return _months_to_ms(_ms_to_months(t))
        return (t - self.offset_ms) // self.width_ms * self.width_ms + self.offset_ms

    def ceil(self, ms: int) -> int:
        """Smallest candle open time that is >= ``ms``."""
        start = int(self.floor(ms))
        return start if start == ms else int(self.opens_from(start, 2)[1])

    def opens_from(self, first_open: int, count: int) -> np.ndarray:
        """``count`` consecutive open times starting at ``first_open`` (which must be aligned)."""
        steps = np.arange(count, dtype=np.int64)
        if self.is_monthly:
            return _months_to_ms(_ms_to_months(np.int64(first_open)) + steps)
        return first_open + steps * self.width_ms

    def opens_until(self, last_open: int, count: int) -> np.ndarray:
        """``count`` consecutive open times ending with ``last_open``, ascending."""
        steps = np.arange(count - 1, -1, -1, dtype=np.int64)
        if self.is_monthly:
            return _months_to_ms(_ms_to_months(np.int64(last_open)) - steps)
        return last_open - steps * self.width_ms

    def next_open(self, open_ms: int) -> int:
        return int(self.opens_from(open_ms, 2)[1])

    def next_opens(self, opens: np.ndarray) -> np.ndarray:
        """Open time of the following candle for each (aligned) open time; close = this - 1."""
        if self.is_monthly:
            return _months_to_ms(_ms_to_months(opens) + 1)
        return opens + self.width_ms


def _ms_to_months(t: np.ndarray) -> np.ndarray:
    return t.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)


def _months_to_ms(months: np.ndarray) -> np.ndarray:
    return (
        np.asarray(months, dtype=np.int64)
        .astype("datetime64[M]")
        .astype("datetime64[ms]")
        .astype(np.int64)
    )


def _fixed(name: str, minutes: int, offset_ms: int = 0) -> Interval:
    return Interval(name, minutes * MINUTE_MS, offset_ms)


INTERVALS: dict[str, Interval] = {
    iv.name: iv
    for iv in (
        _fixed("1m", 1),
        _fixed("3m", 3),
        _fixed("5m", 5),
        _fixed("15m", 15),
        _fixed("30m", 30),
        _fixed("1h", 60),
        _fixed("2h", 120),
        _fixed("4h", 240),
        _fixed("6h", 360),
        _fixed("8h", 480),
        _fixed("12h", 720),
        _fixed("1d", 1_440),
        _fixed("3d", 3 * 1_440),
        _fixed("1w", 7 * 1_440, _MONDAY_OFFSET_MS),
        Interval("1M", 0),
    )
}
