"""The stale rule on exact lags: more than `candles` closed candles plus `grace_seconds` behind."""

from __future__ import annotations

from datetime import date

import pytest

from marketdata_pipeline.automation.freshness import lag_of
from marketdata_pipeline.config import Freshness, Series
from marketdata_pipeline.timeframes import HOUR_MS, MINUTE_MS, get_timeframe

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def series(timeframe: str) -> Series:
    return Series("binance", "BTC/USDT", get_timeframe(timeframe), date(2024, 1, 1))


@pytest.mark.parametrize(
    ("timeframe", "behind", "candles", "grace", "stale"),
    [
        ("1m", 3, 3, 0, False),  # exactly at the threshold
        ("1m", 4, 3, 0, True),
        ("1m", 3, 2, 59, True),  # 180 s behind, 179 s allowed
        ("1m", 3, 2, 60, False),
        ("1m", 1, 0, 0, True),
        ("1h", 2, 2, 0, False),
        ("1h", 3, 2, 3599, True),  # grace counts in seconds, candles in the series' timeframe
        ("1h", 3, 2, 3600, False),
    ],
)
def test_stale_once_more_than_candles_plus_grace_behind(timeframe, behind, candles, grace, stale):
    s = series(timeframe)
    tf = s.timeframe
    now = T0 + 10 * HOUR_MS + 30 * MINUTE_MS + 17_000  # 10:30:17, inside a candle
    expected = tf.floor(now) - tf.ms  # the newest candle that has closed
    lag = lag_of(s, expected - behind * tf.ms, now, Freshness(candles=candles, grace_seconds=grace))
    assert (lag.expected_ms, lag.lag_ms, lag.stale) == (expected, behind * tf.ms, stale)
    assert lag.lag_seconds == behind * tf.ms / 1000


def test_up_to_date_is_zero_lag_and_a_series_never_fetched_is_behind_from_its_start():
    s = series("1m")
    now = T0 + 90 * MINUTE_MS + 5_000
    current = lag_of(s, T0 + 89 * MINUTE_MS, now, Freshness(candles=0, grace_seconds=0))
    assert (current.lag_ms, current.stale) == (0, False)
    empty = lag_of(s, None, now, Freshness())
    assert (empty.last_ms, empty.lag_ms, empty.stale) == (None, 90 * MINUTE_MS, True)
