"""The windows and ranges a sync covers, from the config alone (no store, no Dagster), and the
key under which a range found complete is remembered (`storage/complete.py`)."""

from __future__ import annotations

import click

from ..config import Series
from ..timeframes import from_ms, partition_after, partition_floor, to_ms
from .support import UserError


def windows_of(series: Series, now_ms: int) -> list[tuple[int, int]]:
    """Every partition window of the series, up to and including the one in progress."""
    partition = series.partition
    start = partition_floor(partition, from_ms(series.start_ms))
    windows = []
    while to_ms(start) <= now_ms:
        after = partition_after(partition, start)
        windows.append((to_ms(start), to_ms(after)))
        start = after
    return windows


def in_range(chosen: list[Series], start_ms: int, end_ms: int, now_ms: int) -> list[Series]:
    """The series that [start, end) overlaps; the others are named on stderr, and if none is
    left that is a mistake."""
    if start_ms >= now_ms:
        raise UserError(
            f"nothing to sync: --start {from_ms(start_ms):%Y-%m-%d %H:%M} is in the future"
        )
    kept = [s for s in chosen if end_ms > s.start_ms]
    missed = [f"{s.label} starts {s.start}" for s in chosen if s not in kept]
    if not kept:
        raise UserError(f"nothing to sync: {'; '.join(missed)}")
    for line in missed:
        click.echo(f"note: skipped {line}, after --end {from_ms(end_ms):%Y-%m-%d %H:%M}", err=True)
    return kept


def plan_key(series: Series, start_ms: int, end_ms: int, now_ms: int, settle_s: int) -> str:
    """Everything a plan depends on besides the store: the series, the range, where closed
    data ends (capped by the range) and how many windows exist by now."""
    if series.data == "trades":
        closed = now_ms - settle_s * 1000
    else:
        closed = series.timeframe.closed_until(now_ms - settle_s * 1000)
    windows = len(windows_of(series, now_ms))
    return f"{series!r}|{start_ms}|{min(end_ms, closed)}|{windows}"
