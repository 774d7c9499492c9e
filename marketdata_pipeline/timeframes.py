"""Candle timeframes: their length, their Dagster partition window and the closed-candle rule."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# 1970-01-01 was a Thursday; weekly candles open on Monday 00:00 UTC (Binance, OKX, Bybit).
WEEK_ORIGIN_MS = 4 * DAY_MS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Timeframe:
    """A candle length and the partition window sized to its data volume.

    A window holds a few thousand to ~50,000 candles: few enough to fetch, check and compute in
    one step, many enough that Dagster's per-partition bookkeeping stays small beside the work.
    """

    name: str
    ms: int
    partition: str  # "day", "month" or "year"

    @property
    def origin_ms(self) -> int:
        return WEEK_ORIGIN_MS if self.name == "1w" else 0

    def floor(self, ts_ms: int) -> int:
        """The open time of the candle that contains `ts_ms`."""
        return ts_ms - (ts_ms - self.origin_ms) % self.ms

    def ceil(self, ts_ms: int) -> int:
        """The first open time on this timeframe's grid at or after `ts_ms`."""
        floor = self.floor(ts_ms)
        return floor if floor == ts_ms else floor + self.ms

    def closed_until(self, now_ms: int) -> int:
        """Exclusive end of the closed candles: every open_time below it is final."""
        return self.floor(now_ms)


TIMEFRAMES: dict[str, Timeframe] = {
    tf.name: tf
    for tf in (
        Timeframe("1m", MINUTE_MS, "month"),
        Timeframe("5m", 5 * MINUTE_MS, "month"),
        Timeframe("15m", 15 * MINUTE_MS, "year"),
        Timeframe("30m", 30 * MINUTE_MS, "year"),
        Timeframe("1h", 60 * MINUTE_MS, "year"),
        Timeframe("4h", 240 * MINUTE_MS, "year"),
        Timeframe("1d", DAY_MS, "year"),
        Timeframe("1w", 7 * DAY_MS, "year"),
    )
}

PARTITION_FORMAT = "%Y-%m-%d"
PARTITION_CRONS = {
    "day": "0 0 * * *",
    "month": "0 0 1 * *",
    "year": "0 0 1 1 *",
}


def get_timeframe(name: str) -> Timeframe:
    try:
        return TIMEFRAMES[name]
    except KeyError:
        raise ValueError(f"unknown timeframe {name!r}; allowed: {', '.join(TIMEFRAMES)}") from None


def partition_floor(partition: str, when: datetime) -> datetime:
    """Start of the partition window that contains `when` (UTC)."""
    day = datetime(when.year, when.month, when.day, tzinfo=UTC)
    if partition == "day":
        return day
    if partition == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def partition_after(partition: str, start: datetime) -> datetime:
    """Start of the partition window after the one starting at `start`."""
    if partition == "day":
        return start + timedelta(days=1)
    if partition == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_time(value: str | date | datetime | None, name: str) -> int | None:
    """A date, datetime or ISO text as epoch ms; dates and naive values are UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{name}: invalid date {value!r}; use YYYY-MM-DD or an ISO datetime"
                " such as 2024-01-31T12:00"
            ) from None
    if not isinstance(value, datetime):
        if not isinstance(value, date):
            raise ValueError(f"{name}: expected a date, datetime or ISO text, got {value!r}")
        value = datetime(value.year, value.month, value.day)
    return to_ms(value if value.tzinfo else value.replace(tzinfo=UTC))


def to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)


def iso(ts_ms: int) -> str:
    """UTC ISO 8601, exact to the millisecond (no float rounding)."""
    return (_EPOCH + timedelta(milliseconds=int(ts_ms))).isoformat()
