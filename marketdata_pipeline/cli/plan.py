"""What `marketdata sync` has to do, decided from the store alone: no Dagster, no exchange.

A series needs a run when candles of the range are missing (after a window's last stored
candle, closed only) or when indicator rows are missing: candle writes delete the indicator
rows they change, up to 1000 bars on, possibly into the next partitions. A range that is
complete costs no run, no request and no Dagster import.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..candles.delta import delta_ranges, stored_in
from ..config import Series
from ..indicators.warmup import warmup_partitions
from ..storage.schema import CANDLES, INDICATORS, TRADE_CANDLES, TRADES
from ..storage.store import CandleStore
from ..timeframes import PARTITION_FORMAT, from_ms, partition_floor
from .ranges import windows_of


@dataclass(frozen=True)
class Plan:
    """One series' run over partitions first..last, or nothing to do when `first` is None."""

    series: Series
    first: str | None
    last: str | None
    fetch: bool  # candles are missing in the range


def plan(
    store: CandleStore, series: Series, start_ms: int, end_ms: int, now_ms: int, settle_s: int
) -> Plan:
    """The partitions a sync of [start, end) must run for `series` (none when complete)."""
    every = windows_of(series, now_ms)
    chosen = [
        i for i, w in enumerate(every) if w[0] < end_ms and w[1] > max(start_ms, series.start_ms)
    ]
    if not chosen:
        return Plan(series, None, None, False)
    closed = series.timeframe.closed_until(now_ms - settle_s * 1000)
    # Only the asked range decides: newer candles of its last partition wait for the schedule.
    asked = [(max(every[i][0], start_ms), min(every[i][1], end_ms)) for i in chosen]
    stored = stored_in(store, series, asked)
    fetch = [
        i
        for i, w, held in zip(chosen, asked, stored, strict=True)
        if delta_ranges(series, [w], [held], closed)
    ]
    # Windows whose indicators a candle write may change: the next warm-up's worth.
    reach = warmup_partitions(series)
    span = range(chosen[0], min(chosen[-1] + reach + 1, len(every)))
    dirty = _missing_indicators(store, series, [every[i] for i in span])
    todo = set(fetch) | {i for i, missing in zip(span, dirty, strict=True) if missing}
    if series.from_trades:
        todo |= {i for i in chosen if _missing_trade_candles(store, series, every[i])}
    if fetch:
        later = range(fetch[-1] + 1, min(fetch[-1] + reach + 1, len(every)))
        todo |= {i for i in later if _has_candles(store, series, every[i])}
    if not todo:
        return Plan(series, None, None, False)
    return Plan(series, _key(every[min(todo)]), _key(every[max(todo)]), bool(fetch))


def _missing_indicators(
    store: CandleStore, series: Series, windows: list[tuple[int, int]]
) -> list[bool]:
    """Per window, whether some stored candle has no indicator row."""
    candles, indicators = (stored_in(store, series, windows, lib) for lib in (CANDLES, INDICATORS))
    return [c.rows != i.rows for c, i in zip(candles, indicators, strict=True)]


def _missing_trade_candles(store: CandleStore, series: Series, window: tuple[int, int]) -> bool:
    """Whether the window stores fewer trade candles than its complete trades make."""
    tf, trades = series.timeframe, replace(series, data="trades")
    expected = sum(
        max(0, (tf.floor(min(hi, window[1])) - tf.ceil(max(lo, window[0]))) // tf.ms)
        for lo, hi in store.coverage(trades, TRADES).ranges
        if lo < window[1] and hi > window[0]
    )
    return store.open_times(series, *window, TRADE_CANDLES).len() < expected


def plan_trades(
    store: CandleStore, series: Series, start_ms: int, end_ms: int, now_ms: int, settle_s: int
) -> Plan:
    """The day partitions of [start, end) whose trades are not all known stored."""
    asked = [
        (max(lo, start_ms), min(hi, end_ms))
        for lo, hi in windows_of(series, now_ms)
        if lo < end_ms and hi > start_ms
    ]
    coverage = store.coverage(series, TRADES)
    missing = coverage.missing_in(asked, series.start_ms, now_ms - settle_s * 1000)
    if not missing:
        return Plan(series, None, None, False)
    day = series.partition
    first, last = (partition_floor(day, from_ms(t)) for t in (missing[0][0], missing[-1][1] - 1))
    return Plan(series, first.strftime(PARTITION_FORMAT), last.strftime(PARTITION_FORMAT), True)


def _has_candles(store: CandleStore, series: Series, window: tuple[int, int]) -> bool:
    return store.open_times(series, *window, limit=1).len() > 0


def _key(window: tuple[int, int]) -> str:
    return datetime.fromtimestamp(window[0] / 1000, tz=UTC).strftime(PARTITION_FORMAT)
