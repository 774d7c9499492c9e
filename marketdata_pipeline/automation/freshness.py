"""How far behind each series is, measured on its data: newest stored candle vs the last closed."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Freshness, Series


@dataclass(frozen=True)
class Lag:
    expected_ms: int  # open time of the newest candle that has closed by now
    last_ms: int | None  # open time of the newest stored candle
    lag_ms: int
    stale: bool

    @property
    def lag_seconds(self) -> float:
        return self.lag_ms / 1000


def lag_of(series: Series, last_ms: int | None, now_ms: int, tolerance: Freshness) -> Lag:
    """A series is stale when more than `tolerance.candles` closed candles (plus grace) behind;
    a collected one (books, tickers) when its newest snapshot is older than 3 periods."""
    if series.every_seconds:
        period = int(series.every_seconds * 1000)
        lag = now_ms - last_ms if last_ms is not None else now_ms - series.start_ms
        return Lag(now_ms - now_ms % period, last_ms, lag, lag > 3 * period)
    tf = series.timeframe
    expected = tf.closed_until(now_ms) - tf.ms
    behind_from = last_ms if last_ms is not None else series.start_ms - tf.ms
    lag = max(0, expected - behind_from)
    return Lag(
        expected, last_ms, lag, lag > tolerance.candles * tf.ms + tolerance.grace_seconds * 1000
    )
