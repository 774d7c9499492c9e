"""ArcticDB storage of candle series, with per-series write exclusion across processes.

Naming scheme: one ArcticDB symbol per series, `<exchange>/<market_slug>/<timeframe>`
(e.g. `binance/btc_usdt/1h`), in the library `candles`; derived data (indicators) lives in
libraries of its own under the same symbol names. Rows are indexed by `open_time` (UTC).

ArcticDB does not support concurrent writers to one symbol (a second writer silently wins), so
every read-merge-write of a series holds the series lock of the project's coordination backend
(a file lock on one machine, a Postgres advisory lock across machines), and confirms it still
holds it right before each ArcticDB write, the write's commit point.

A plain class, so that reading stored data (the CLI, MarketData, the HTTP API) does not import
Dagster; `resource.CandleStoreResource` makes it a Dagster resource for the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import arcticdb
import pandas as pd
import polars as pl
from arcticdb import QueryBuilder

from ..config import LoadedConfig
from ..coordination import Coordination, Hold, coordination_from, coordination_spec
from ..ops.metrics import tally_for
from .arctic import arctic_for, date_range, read_latest, to_pandas
from .coverage import Coverage
from .memory import release_after_read, release_memory
from .schema import CANDLES, COVERAGE, DERIVED_FROM, FLOAT_STORED, SCHEMAS, UNIQUE_KEY, empty_frame

STORE_KEY = "candle_store"


class Named(Protocol):
    """Anything stored under a symbol name: a candle Series, or a `Symbol` for other data."""

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Symbol:
    name: str


@dataclass(frozen=True)
class SeriesSummary:
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    rows: int

    @property
    def first_ms(self) -> int | None:
        return None if self.first is None else self.first.value // 1_000_000

    @property
    def last_ms(self) -> int | None:
        return None if self.last is None else self.last.value // 1_000_000


@dataclass(frozen=True)
class WriteResult:
    rows_written: int
    rows_present: int
    lock_wait_seconds: float


class CandleStore:
    """Candle series in ArcticDB (LMDB by default, any ArcticDB URI such as S3 works unchanged)."""

    def __init__(self, uri: str, coordination: dict[str, Any]) -> None:
        self.uri = uri
        self.coordination = coordination  # a `coordination_spec`

    def library(self, name: str = CANDLES) -> arcticdb.library.Library:
        arctic = arctic_for(self.uri)
        try:
            return arctic.get_library(name, create_if_missing=True)
        except ValueError:
            if not arctic.has_library(name):
                raise
            return arctic.get_library(name)  # another machine created it meanwhile

    def read(
        self,
        series: Named,
        start_ms: int | None = None,
        end_ms: int | None = None,
        library: str = CANDLES,
    ) -> pl.DataFrame:
        """Rows with start <= index < end as polars, the index (open_time, timestamp) in ms.

        Missing values come back as nulls (ArcticDB keeps them as NaN).
        """
        lib = self.library(library)
        if not lib.has_symbol(series.name):
            return empty_frame(library)
        frame = read_latest(
            lib.read, series.name, date_range=date_range(start_ms, end_ms), output_format="polars"
        ).data
        naive = [c for c, t in frame.schema.items() if t == pl.Datetime and t.time_zone is None]
        frame = frame.with_columns(  # times in ms, UTC (a column of nulls comes back naive)
            pl.col(naive).dt.replace_time_zone("UTC"), pl.col(pl.Float64).fill_nan(None)
        ).with_columns(pl.col(pl.Datetime).dt.cast_time_unit("ms"))
        schema = SCHEMAS.get(library, {})
        release_after_read(frame.height)
        return frame.cast(
            {c: schema[c] for c in FLOAT_STORED if c in frame.columns and c in schema}
        )

    def read_page(
        self,
        series: Named,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        library: str = CANDLES,
    ) -> tuple[pl.DataFrame, int | None]:
        """Up to `limit` rows of [start, end), and the last one's open time when more follow.

        The index of the next limit + 1 rows is read first, so a page costs the same anywhere in
        a long series instead of reading the rest of the range.
        """
        lib = self.library(library)
        if not lib.has_symbol(series.name):
            return self.read(series, start_ms, end_ms, library), None
        index = read_latest(
            lib.read,
            series.name,
            date_range=date_range(start_ms, end_ms),
            columns=[],
            query_builder=QueryBuilder().head(limit + 1),
            output_format="polars",
        ).data["open_time"]
        stop_ms = int(index.dt.epoch("ms")[limit]) if index.len() > limit else end_ms
        frame = self.read(series, start_ms, stop_ms, library).head(limit)
        more = index.len() > limit and frame.height > 0
        return frame, int(frame["open_time"].dt.epoch("ms")[-1]) if more else None

    def open_times(
        self,
        series: Named,
        start_ms: int | None,
        end_ms: int | None,
        library: str = CANDLES,
        limit: int | None = None,
    ) -> pl.Series:
        """Stored open times in [start, end) as epoch ms (the first `limit`), from the index."""
        lib = self.library(library)
        if not lib.has_symbol(series.name):
            return pl.Series("open_time", [], dtype=pl.Int64)
        index = read_latest(
            lib.read,
            series.name,
            date_range=date_range(start_ms, end_ms),
            columns=[],
            query_builder=None if limit is None else QueryBuilder().head(limit),
            output_format="polars",
        ).data
        release_after_read(index.height)
        return index[index.columns[0]].dt.epoch("ms").alias("open_time")

    def summary(self, series: Named, library: str = CANDLES) -> SeriesSummary:
        lib = self.library(library)
        if not lib.has_symbol(series.name):
            return SeriesSummary(None, None, 0)
        description = read_latest(lib.get_description, series.name)
        first, last = description.date_range
        return SeriesSummary(first, last, description.row_count)

    def write(
        self,
        series: Named,
        candles: pl.DataFrame,
        start_ms: int,
        end_ms: int,
        library: str = CANDLES,
        slot_ms: int | None = None,
    ) -> WriteResult:
        """Merge `candles` (all inside [start, end)) into the series, keeping rows already stored.

        Idempotent: writing the same rows twice leaves the same data, and concurrent writers
        of one series are serialized by the series lock, so none of their rows is lost. Rows
        are unique on the library's key (the index; a trade's `id`), and with `slot_ms`, one
        per slot of the index (snapshots: two collectors never store one slot twice).
        """
        waited = 0.0
        if candles.is_empty():
            return WriteResult(0, 0, waited)
        index = candles.columns[0] if candles.width else "open_time"
        key = UNIQUE_KEY.get(library, index)
        with self.lock(series) as hold:
            waited = hold.waited
            stored = self.read(series, start_ms, end_ms, library)
            if not stored.width:  # a new symbol of a library without a fixed schema
                stored = candles.clear()
            merged = pl.concat([stored, candles], how="diagonal_relaxed")
            if slot_ms:
                merged = merged.filter(
                    (pl.col(index).dt.epoch("ms") // slot_ms).is_first_distinct()
                )
            merged = merged.unique(key, keep="first", maintain_order=True).sort(
                list(dict.fromkeys([index, key]))
            )
            written = merged.height - stored.height
            if written:
                first, last = merged[index][0], merged[index][-1]
                hold.confirm()
                self.library(library).update(
                    series.name,
                    to_pandas(merged),
                    upsert=True,
                    date_range=(pd.Timestamp(first), pd.Timestamp(last)),
                    prune_previous_versions=True,
                )
                new = merged.join(stored.select(key), on=key, how="anti")[index].dt.epoch("ms")
                self._invalidate_derived(series, library, new.min(), new.max(), hold)
        self._counted(library, waited, written)
        release_memory()
        return WriteResult(written, candles.height - written, waited)

    def coverage(self, series: Named, library: str) -> Coverage:
        """What of a series is known complete, for data whose rows alone cannot tell."""
        lib = self.library(COVERAGE)
        name = f"{library}/{series.name}"
        if not lib.has_symbol(name):
            return Coverage([], [])
        meta = lib.read_metadata(name).metadata
        return Coverage([tuple(r) for r in meta["ranges"]], [tuple(g) for g in meta["gaps"]])

    def cover(self, series: Named, library: str, covered: tuple[int, int], gaps: list = ()) -> None:
        """Record [start, end) as complete, and id `gaps` the exchange confirmed. Called after
        the rows are written: a process killed in between refetches, never skips."""
        with self.lock(series) as hold:
            known = self.coverage(series, library)
            ranges: list[list[int]] = []
            for lo, hi in sorted([*known.ranges, covered]):
                if ranges and lo <= ranges[-1][1]:
                    ranges[-1][1] = max(ranges[-1][1], hi)
                else:
                    ranges.append([lo, hi])
            hold.confirm()
            self.library(COVERAGE).write_metadata(
                f"{library}/{series.name}",
                {"ranges": ranges, "gaps": sorted({*known.gaps, *map(tuple, gaps)})},
                prune_previous_versions=True,
            )

    def _invalidate_derived(
        self, series: Named, library: str, first: int, last: int, hold: Hold
    ) -> None:
        """Delete derived rows that new base rows in [first, last] change: a missing derived
        row is recomputed, a stale one would be served as if it were right."""
        for derived, memory in DERIVED_FROM.get(library, {}).items():
            summary = self.summary(series, derived)
            if summary.last_ms is None or summary.last_ms < first:
                continue  # nothing derived at or after the new rows (the usual append)
            later = self.open_times(series, last, None, library, limit=memory + 1)
            end = int(later[-1]) + 1 if later.len() > memory else None
            hold.confirm()
            self.library(derived).delete_data_in_range(
                series.name, date_range(first, end), prune_previous_versions=True
            )

    def replace(
        self, series: Named, frame: pl.DataFrame, start_ms: int, end_ms: int, library: str
    ) -> None:
        """Make [start, end) of a derived series exactly `frame`: recomputed values win."""
        lib = self.library(library)
        with self.lock(series) as hold:
            hold.confirm()
            if frame.is_empty():
                if lib.has_symbol(series.name):
                    lib.delete_data_in_range(
                        series.name, date_range(start_ms, end_ms), prune_previous_versions=True
                    )
                return
            lib.update(
                series.name,
                to_pandas(frame),
                upsert=True,
                date_range=date_range(start_ms, end_ms),
                prune_previous_versions=True,
            )
        self._counted(library, hold.waited, frame.height)
        release_memory()

    def compact(self, series: Named, library: str) -> None:
        """Merge the small segments that batched appends leave into full ones."""
        lib = self.library(library)
        with self.lock(series) as hold:
            if lib.has_symbol(series.name) and lib.is_symbol_fragmented(series.name):
                hold.confirm()
                lib.defragment_symbol_data(series.name, prune_previous_versions=True)

    @property
    def coordinator(self) -> Coordination:
        return coordination_from(self.coordination)

    def _counted(self, library: str, waited: float, rows: int) -> None:
        tally = tally_for(self.coordinator)  # for /metrics (see `ops.metrics`)
        tally.add("marketdata_lock_wait_seconds", waited, library=library)
        tally.add("marketdata_rows_written", rows, library=library)

    def lock(self, series: Named):
        """The series' write exclusion (see `coordination`); yields its `Hold`."""
        return self.coordinator.series_lock(series.name)


def store_for(config: LoadedConfig) -> CandleStore:
    """The project's store: its storage URI, with series locks in its coordination backend."""
    return CandleStore(uri=config.storage_uri, coordination=coordination_spec(config))
