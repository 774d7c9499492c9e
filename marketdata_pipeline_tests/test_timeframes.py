from datetime import UTC, datetime

import pytest

from marketdata_pipeline.timeframes import TIMEFRAMES, get_timeframe, partition_floor, to_ms

T = to_ms(datetime(2024, 3, 13, 10, 37, 25, tzinfo=UTC))  # a Wednesday


@pytest.mark.parametrize(
    ("name", "floor"),
    [
        ("1m", datetime(2024, 3, 13, 10, 37)),
        ("5m", datetime(2024, 3, 13, 10, 35)),
        ("4h", datetime(2024, 3, 13, 8, 0)),
        ("1d", datetime(2024, 3, 13)),
        ("1w", datetime(2024, 3, 11)),  # weekly candles open on Monday
    ],
)
def test_floor_and_closed_rule(name, floor):
    tf = get_timeframe(name)
    assert tf.floor(T) == to_ms(floor.replace(tzinfo=UTC))
    assert tf.closed_until(T) == tf.floor(T)  # the candle opened at floor(now) is still in progress
    assert tf.ceil(tf.floor(T)) == tf.floor(T)
    assert tf.ceil(tf.floor(T) + 1) == tf.floor(T) + tf.ms


def test_unknown_timeframe_lists_the_allowed_ones():
    with pytest.raises(
        ValueError, match="unknown timeframe '2h'; allowed: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w"
    ):
        get_timeframe("2h")


@pytest.mark.parametrize(
    ("partition", "start"),
    [
        ("day", (2024, 3, 13)),
        ("week", (2024, 3, 11)),
        ("month", (2024, 3, 1)),
        ("year", (2024, 1, 1)),
    ],
)
def test_partition_floor(partition, start):
    assert partition_floor(partition, datetime(2024, 3, 13, 10, tzinfo=UTC)) == datetime(
        *start, tzinfo=UTC
    )


def test_partition_windows_hold_a_handful_of_pages():
    window_ms = {
        "day": 86_400_000,
        "week": 7 * 86_400_000,
        "month": 31 * 86_400_000,
        "year": 366 * 86_400_000,
    }
    for tf in TIMEFRAMES.values():
        assert window_ms[tf.partition] // tf.ms <= 3000, tf.name
