import numpy as np

from marketdata_pipeline.simulator.aggregate import interval_candles, visible_minutes
from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.intervals import INTERVALS
from marketdata_pipeline.simulator.market import minute_candles
from marketdata_pipeline.simulator.symbols import make_specs

from .conftest import DAY, HOUR, MINUTE, NOW_MS

SPEC = make_specs()["SOLUSDT"]


def _aggregate(minutes: Candles) -> tuple[int, ...]:
    return (
        int(minutes.open[0]),
        int(minutes.high.max()),
        int(minutes.low.min()),
        int(minutes.close[-1]),
        int(minutes.volume.sum()),
        int(minutes.quote_volume.sum()),
        int(minutes.trades.sum()),
        int(minutes.taker_base.sum()),
        int(minutes.taker_quote.sum()),
    )


def _row(candles: Candles, i: int) -> tuple[int, ...]:
    names = (
        "open",
        "high",
        "low",
        "close",
        "volume",
        "quote_volume",
        "trades",
        "taker_base",
        "taker_quote",
    )
    return tuple(int(getattr(candles, n)[i]) for n in names)


def test_every_interval_is_an_exact_aggregate_of_minutes() -> None:
    now = NOW_MS - 40 * DAY
    for name, interval in INTERVALS.items():
        last = int(interval.floor(now))
        first = int(interval.opens_until(last, 3)[0])
        candles = interval_candles(SPEC, interval, first, last, now)
        assert len(candles) == 3, name
        for i, open_ms in enumerate(candles.time.tolist()):
            minutes = visible_minutes(SPEC, open_ms, interval.next_open(open_ms), now)
            assert _row(candles, i) == _aggregate(minutes), name


def test_in_progress_candle_holds_minutes_so_far() -> None:
    day = INTERVALS["1d"]
    today = int(day.floor(NOW_MS))
    candle = interval_candles(SPEC, day, today, today, NOW_MS)
    minutes = visible_minutes(SPEC, today, today + DAY, NOW_MS)
    assert len(minutes) == (NOW_MS - today) // MINUTE + 1  # includes the current minute
    assert _row(candle, 0) == _aggregate(minutes)


def test_nothing_before_listing() -> None:
    listing = SPEC.listing_ms
    minutes = visible_minutes(SPEC, listing - HOUR, listing + HOUR, NOW_MS)
    assert int(minutes.time[0]) == listing
    first_day = interval_candles(
        SPEC, INTERVALS["1d"], listing // DAY * DAY - DAY, listing // DAY * DAY, NOW_MS
    )
    assert first_day.time.tolist() == [listing // DAY * DAY]
    assert _row(first_day, 0) == _aggregate(
        visible_minutes(SPEC, listing, listing // DAY * DAY + DAY, NOW_MS)
    )


def test_maintenance_gaps_remove_minutes_and_shrink_aggregates() -> None:
    hour = NOW_MS // HOUR * HOUR - 5 * HOUR
    gaps = ((hour + 10 * MINUTE, hour + 2 * HOUR),)
    minutes = visible_minutes(SPEC, hour, hour + 3 * HOUR, NOW_MS, gaps)
    assert len(minutes) == 10 + 60
    hours = interval_candles(SPEC, INTERVALS["1h"], hour, hour + 2 * HOUR, NOW_MS, gaps)
    assert hours.time.tolist() == [hour, hour + 2 * HOUR]
    assert _row(hours, 0) == _aggregate(visible_minutes(SPEC, hour, hour + HOUR, NOW_MS, gaps))
    day = interval_candles(
        SPEC, INTERVALS["1d"], hour // DAY * DAY, hour // DAY * DAY, NOW_MS, gaps
    )
    full_day = interval_candles(SPEC, INTERVALS["1d"], hour // DAY * DAY, hour // DAY * DAY, NOW_MS)
    assert int(day.volume[0]) < int(full_day.volume[0])


def test_weekly_and_monthly_match_daily() -> None:
    now = NOW_MS
    days = interval_candles(
        SPEC, INTERVALS["1d"], NOW_MS // DAY * DAY - 120 * DAY, NOW_MS // DAY * DAY, now
    )
    for name in ("1w", "1M"):
        interval = INTERVALS[name]
        first_complete = interval.ceil(int(days.time[0]))
        coarse = interval_candles(SPEC, interval, first_complete, int(interval.floor(now)), now)
        regrouped = days.group(interval.floor(days.time))
        keep = regrouped.time >= first_complete
        assert len(coarse) >= 3
        for field, column in coarse.columns().items():
            assert np.array_equal(column, getattr(regrouped, field)[keep]), (name, field)


def test_the_last_minute_of_a_cached_chunk_is_partial_while_in_progress() -> None:
    chunk_end = NOW_MS // (8 * DAY) * (8 * DAY)  # hour candles are cached in 8-day chunks
    now = chunk_end - 30_000
    hour = interval_candles(SPEC, INTERVALS["1h"], chunk_end - HOUR, chunk_end - HOUR, now)
    minutes = visible_minutes(SPEC, chunk_end - HOUR, chunk_end, now)
    assert _row(hour, 0) == _aggregate(minutes)
    whole_minute = minute_candles(SPEC, chunk_end // MINUTE - 1, chunk_end // MINUTE)
    assert 0 < minutes.volume[-1] < whole_minute.volume[0]
