"""Book metrics speed and book storage size, in one run.

Builds synthetic depth-20 snapshots with numpy (1,000,000 by default: a random-walk mid on a
0.01 tick, levels a random 1-4 ticks apart, log-normal amounts, 10 s apart) and:

- times `book_metrics` (every metric column) against a plain numpy computation of the same
  metrics over (level, snapshot) arrays, after checking both agree; each side runs once as
  warm-up, then the best of --repeat runs counts. Prints snapshots/s and the ratio;
- writes --store-rows of them to ArcticDB LMDB in a temporary folder, once in one write and
  once appended in batches of --batch rows (an hour at 10 s by default, as a collector would),
  and prints the bytes on disk per snapshot against the 664 raw bytes of a depth-20 row;
- stores 36,000 of them in batches of --batch through the project's store, as the collector
  flushes them (series lock, dedupe, one version per batch), against bare ArcticDB appends.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import arcticdb
import numpy as np
import polars as pl
from common import best_time

from marketdata_pipeline.books.layout import book_schema, level_column
from marketdata_pipeline.books.metrics import BANDS_BPS, METRIC_COLUMNS, book_metrics
from marketdata_pipeline.coordination import embedded
from marketdata_pipeline.storage.schema import ORDER_BOOKS
from marketdata_pipeline.storage.store import CandleStore, Symbol

DEPTH = 20
T0 = 1_704_067_200_000


def make_levels(rows: int, seed: int) -> dict[str, np.ndarray]:
    """(depth, rows) arrays of bid/ask prices and amounts, each level row contiguous."""
    rng = np.random.default_rng(seed)
    mid = np.round(30_000 * np.exp(np.cumsum(rng.normal(0, 2e-4, rows))), 2)
    half = 0.01 * rng.integers(1, 4, rows)
    steps = 0.01 * np.cumsum(rng.integers(1, 5, (DEPTH, rows)), axis=0)
    amount = np.round(rng.lognormal(-1, 1.5, (2, DEPTH, rows)), 5) + 1e-5
    return {
        "bid_price": np.round(mid - half - steps + 0.01, 2),
        "bid_amount": amount[0],
        "ask_price": np.round(mid + half + steps - 0.01, 2),
        "ask_amount": amount[1],
    }


def snapshot_frame(levels: dict[str, np.ndarray]) -> pl.DataFrame:
    rows = levels["bid_price"].shape[1]
    local = T0 + 10_000 * np.arange(rows, dtype=np.int64)
    rng = np.random.default_rng(1)
    columns = {
        "timestamp": local - rng.integers(1, 50, rows),
        "local_timestamp": local,
        "update_id": 10**9 + np.cumsum(rng.integers(1, 200, rows)),
    }
    for name, array in levels.items():
        side, field = name.split("_")
        columns |= {level_column(side, field, i): array[i] for i in range(DEPTH)}
    return pl.DataFrame(columns).cast(book_schema(DEPTH))


def numpy_metrics(bp, ba, ap, aa) -> dict[str, np.ndarray]:
    """The same metrics as `book_metrics`, over (level, snapshot) arrays with NaN as missing."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = (bp[0] + ap[0]) / 2
        spread = ap[0] - bp[0]
        out = {"mid": mid, "spread": spread, "spread_bps": spread / mid * 10_000}
        top = ba[0] + aa[0]
        out["microprice"] = np.where(top > 0, (bp[0] * aa[0] + ap[0] * ba[0]) / top, np.nan)
        for name, k in (("imbalance_1", 1), ("imbalance_5", 5), ("imbalance_n", DEPTH)):
            b, a = np.nansum(ba[:k], axis=0), np.nansum(aa[:k], axis=0)
            out[name] = np.where(b + a > 0, (b - a) / (b + a), np.nan)
        for bps in BANDS_BPS:
            reach = mid * bps / 10_000
            for side, price, amount, inside in (
                ("bid", bp, ba, bp >= mid - reach),
                ("ask", ap, aa, ap <= mid + reach),
            ):
                known = np.where(np.isnan(mid), np.nan, 0.0)
                out[f"{side}_depth_{bps}bps_base"] = np.where(inside, amount, 0).sum(0) + known
                out[f"{side}_depth_{bps}bps_quote"] = (
                    np.where(inside, price * amount, 0).sum(0) + known
                )
    return out


def stored_bytes(folder: Path) -> int:
    """Bytes allocated on disk under folder (LMDB files are sparse)."""
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file())


def store(frame: pl.DataFrame, folder: Path, batch: int | None) -> int:
    """Bytes on disk of `frame` written to a fresh LMDB store, at once or appended in batches."""
    library = arcticdb.Arctic(f"lmdb://{folder}").get_library("order_books", create_if_missing=True)
    indexed = frame.to_pandas().set_index("local_timestamp")
    if batch is None:
        library.write("binance/btc_usdt", indexed)
    else:
        for start in range(0, len(indexed), batch):
            library.append("binance/btc_usdt", indexed.iloc[start : start + batch])
    return stored_bytes(folder)


def store_rate(frame: pl.DataFrame, folder: Path, batch: int) -> tuple[float, float]:
    """Snapshots/s written in batches of `batch`: through the project's store (the collector's
    flush: series lock, dedupe, update), and as bare ArcticDB appends."""
    project = CandleStore(f"lmdb://{folder / 'project'}", embedded(folder))
    series = Symbol("binance/btc_usdt/order_book")
    began = time.perf_counter()
    for start in range(0, frame.height, batch):
        part = frame.slice(start, batch)
        times = part["local_timestamp"].dt.epoch("ms")
        project.write(series, part, times.min(), times.max() + 1, ORDER_BOOKS)
    ours = frame.height / (time.perf_counter() - began)
    library = arcticdb.Arctic(f"lmdb://{folder / 'bare'}").get_library("b", create_if_missing=True)
    indexed = frame.to_pandas().set_index("local_timestamp")
    began = time.perf_counter()
    for start in range(0, len(indexed), batch):
        library.append("s", indexed.iloc[start : start + batch])
    return ours, frame.height / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--store-rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=360)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    levels = make_levels(args.rows, args.seed)
    frame = snapshot_frame(levels)
    arrays = [levels[k] for k in ("bid_price", "bid_amount", "ask_price", "ask_amount")]

    ours = book_metrics(frame, DEPTH)
    for column, ref in numpy_metrics(*arrays).items():
        got = ours[column].fill_null(np.nan).to_numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12, err_msg=column)
    assert len(ours.columns) == len(METRIC_COLUMNS)

    project = best_time(lambda: book_metrics(frame, DEPTH), args.repeat)
    reference = best_time(lambda: numpy_metrics(*arrays), args.repeat)
    print(
        f"metrics, depth {DEPTH}, {args.rows:,} snapshots ({pl.thread_pool_size()} polars "
        f"threads): book_metrics {args.rows / project:,.0f}/s  numpy {args.rows / reference:,.0f}/s"
        f"  time ratio {project / reference:.2f}x"
    )

    sample = frame.head(args.store_rows)
    raw = 8 * sample.width  # every column is 8 bytes wide
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as many:
        whole = store(sample, Path(one), None) / sample.height
        appended = store(sample, Path(many), args.batch) / sample.height
    with tempfile.TemporaryDirectory() as folder:
        ordered = sample.select("local_timestamp", pl.exclude("local_timestamp"))
        ours_rate, bare_rate = store_rate(ordered.head(36_000), Path(folder), args.batch)
    print(
        f"storing, batches of {args.batch}: the project's store {ours_rate:,.0f} snapshots/s,"
        f" bare ArcticDB appends {bare_rate:,.0f}/s ({bare_rate / ours_rate:.2f}x faster)"
    )
    print(
        f"storage, {sample.height:,} depth-{DEPTH} snapshots in ArcticDB LMDB: one write "
        f"{whole:,.0f} B/snapshot ({whole / raw:.2f}x of {raw} raw), appends of {args.batch} "
        f"{appended:,.0f} B/snapshot ({appended / raw:.2f}x raw, {appended / whole:.2f}x one write)"
    )


if __name__ == "__main__":
    main()
