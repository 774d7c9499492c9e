from datetime import UTC, datetime

import pytest

from marketdata_pipeline.timeframes import (
    TIMEFRAMES,
    get_timeframe,
    partition_after,
    partition_floor,
    to_ms,
)

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
        ("month", (2024, 3, 1)),
        ("year", (2024, 1, 1)),
    ],
)
def test_partition_floor(partition, start):
    assert partition_floor(partition, datetime(2024, 3, 13, 10, tzinfo=UTC)) == datetime(
        *start, tzinfo=UTC
    )


def test_partition_windows_are_sized_by_volume():
    """At most ~53,000 candles (a few dozen pages) and at least 52 per default window."""
    window_ms = {"month": 31 * 86_400_000, "year": 366 * 86_400_000}
    sizes = {tf.name: window_ms[tf.partition] // tf.ms for tf in TIMEFRAMES.values()}
    assert sizes == {
        "1m": 44640,
        "5m": 8928,
        "15m": 35136,
        "30m": 17568,
        "1h": 8784,
        "4h": 2196,
        "1d": 366,
        "1w": 52,
    }


@pytest.mark.parametrize(
    ("partition", "start", "after"),
    [
        ("day", (2024, 2, 29), (2024, 3, 1)),
        ("month", (2024, 12, 1), (2025, 1, 1)),
        ("month", (2024, 1, 1), (2024, 2, 1)),
        ("year", (2024, 1, 1), (2025, 1, 1)),
    ],
)
def test_partition_after(partition, start, after):
    assert partition_after(partition, datetime(*start, tzinfo=UTC)) == datetime(*after, tzinfo=UTC)
