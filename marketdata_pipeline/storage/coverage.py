"""Coverage: the time ranges of a series known complete, for data whose rows cannot tell.

A day of candles is complete when it has every candle; a day of trades may rightly hold any
number of them, so what was fetched to the end is recorded beside the rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Coverage:
    ranges: list[tuple[int, int]]  # [start, end) in ms, sorted and disjoint
    gaps: list[tuple[int, int]]  # ids [lo, hi) the exchange confirmed missing

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of [start, end) not known complete."""
        todo, cursor = [], start
        for lo, hi in self.ranges:
            if hi <= cursor or lo >= end:
                continue
            if lo > cursor:
                todo.append((cursor, lo))
            cursor = max(cursor, hi)
        if cursor < end:
            todo.append((cursor, end))
        return todo

    def missing_in(
        self, windows: list[tuple[int, int]], start_ms: int, until_ms: int
    ) -> list[tuple[int, int]]:
        """The parts of `windows` from `start_ms` (a market's start) to `until_ms` not known
        complete."""
        return [
            r
            for lo, hi in windows
            if max(lo, start_ms) < min(hi, until_ms)
            for r in self.missing(max(lo, start_ms), min(hi, until_ms))
        ]
