from datetime import UTC, datetime

import numpy as np
import pytest

from marketdata_pipeline.simulator.intervals import INTERVALS

from .conftest import DAY, MINUTE, NOW_MS


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_all_binance_intervals_exist() -> None:
    expected = [
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1h",
        "2h",
        "4h",
        "6h",
        "8h",
        "12h",
        "1d",
        "3d",
        "1w",
        "1M",
    ]
    assert list(INTERVALS) == expected


def test_fixed_width_floor_and_ceil() -> None:
    one_hour = INTERVALS["1h"]
    assert int(one_hour.floor(NOW_MS)) == NOW_MS // 3_600_000 * 3_600_000
    assert one_hour.ceil(NOW_MS) == int(one_hour.floor(NOW_MS)) + 3_600_000
    assert one_hour.ceil(int(one_hour.floor(NOW_MS))) == int(one_hour.floor(NOW_MS))


def test_weeks_open_on_monday() -> None:
    week = INTERVALS["1w"]
    opens = week.opens_from(int(week.floor(NOW_MS)), 60)
    assert all(_dt(int(t)).weekday() == 0 and _dt(int(t)).hour == 0 for t in opens)
    assert _dt(int(week.floor(NOW_MS))) == datetime(2024, 3, 11, tzinfo=UTC)


def test_months_open_on_the_first() -> None:
    month = INTERVALS["1M"]
    assert _dt(int(month.floor(NOW_MS))) == datetime(2024, 3, 1, tzinfo=UTC)
    opens = month.opens_from(int(month.floor(NOW_MS)), 13)
    assert [_dt(int(t)).month for t in opens] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
    assert month.opens_until(int(opens[2]), 3).tolist() == opens[:3].tolist()
    feb = int(month.floor(datetime(2024, 2, 10, tzinfo=UTC).timestamp() * 1000))
    assert int(month.next_opens(np.array([feb]))[0]) - feb == 29 * DAY  # leap year


@pytest.mark.parametrize(
    "name", ["3m", "5m", "15m", "30m", "2h", "4h", "6h", "8h", "12h", "1d", "3d"]
)
def test_fixed_intervals_are_epoch_aligned(name: str) -> None:
    interval = INTERVALS[name]
    assert int(interval.floor(NOW_MS)) % interval.width_ms == 0
    assert interval.ceil(NOW_MS - MINUTE) > NOW_MS - MINUTE - interval.width_ms
