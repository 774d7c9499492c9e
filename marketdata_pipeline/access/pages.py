"""Pages of stored rows after a cursor: trades, book snapshots and tickers.

Snapshots and tickers are unique on their receive time, so a page's cursor is its last row's
time. Trades are stored in (timestamp, id) order and several can share a millisecond, so their
cursor is the last trade's time *and* id: a time alone would skip or repeat the trades that
share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from ..config import Series
from ..storage.schema import UNIQUE_KEY, empty_frame
from ..storage.store import CandleStore
from ..timeframes import from_ms, parse_time


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: its last row's time (epoch ms) as ISO text, and for trades its id
    too, as `id@time`."""

    ms: int
    id: int | None = None

    def __str__(self) -> str:
        when = from_ms(0) + timedelta(milliseconds=self.ms)
        text = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return text if self.id is None else f"{self.id}@{text}"

    @classmethod
    def parse(cls, text: str, keyed: bool) -> Cursor:
        """`id@time` where rows are `keyed` by an id (trades), else a time."""
        key, _, when = text.rpartition("@")
        try:
            if keyed:
                return cls(parse_time(when, "after"), int(key))
            if not key:
                return cls(parse_time(when, "after"))
        except ValueError:
            pass
        form = "`<trade id>@<ISO time>`" if keyed else "an ISO time"
        raise ValueError(
            f"after: {text!r} is not a cursor; pass `next_after` of the previous page ({form})"
        )


def read_page(
    store: CandleStore,
    series: Series,
    library: str,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    after: Cursor | None = None,
) -> tuple[pl.DataFrame, Cursor | None]:
    """Up to `limit` rows of [start, end) after the cursor, and the next cursor if more follow.

    Reads the rows left in the cursor's millisecond (trades only), then the index of the next
    ones, so a page costs the same anywhere in a long history.
    """
    key = UNIQUE_KEY.get(library)  # what tells apart the rows sharing a millisecond
    parts = []
    if after is not None and (start_ms is None or after.ms >= start_ms):
        if key and (end_ms is None or after.ms < end_ms):
            same = store.read(series, after.ms, after.ms + 1, library)
            parts.append(same.filter(pl.col(key) > after.id))
        start_ms = after.ms + 1
    wanted = limit + 1 - sum(p.height for p in parts)  # one more tells whether more follow
    if wanted > 0 and (None in (start_ms, end_ms) or start_ms < end_ms):
        times = store.open_times(series, start_ms, end_ms, library, limit=wanted)
        if times.len():  # up to the last of those, with every row sharing its millisecond
            parts.append(store.read(series, start_ms, int(times[-1]) + 1, library))
    frame = pl.concat(parts) if parts else empty_frame(library)
    if frame.height <= limit:
        return frame, None
    page = frame.head(limit)
    last_ms = int(page[page.columns[0]].dt.epoch("ms")[-1])
    return page, Cursor(last_ms, int(page[key][-1]) if key else None)
