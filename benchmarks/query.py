"""Query speed: the Python API and SQL against raw ArcticDB reads of the same rows, in one run.

Writes a year of synthetic 1m candles (525,600 rows) for each of two series straight into a
temporary LMDB store (no exchange needed) with a config pointing at it, then times:

- a year of one series through `MarketData.candles` against `lib.read(date_range=...)`;
- a daily OHLC/volume aggregate of one series over one month through `MarketData.sql`
  (DuckDB) against the raw read of that month alone, and against the same query written so
  the planner cannot prune it (every row of every series read).

Each case runs once as warm-up, then the best of --repeat runs counts.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from common import best_time
from polars.testing import assert_frame_equal

from marketdata_pipeline.access.market_data import MarketData
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA
from marketdata_pipeline.timeframes import MINUTE_MS, to_ms

YEAR = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
MONTH = (datetime(2023, 6, 1, tzinfo=UTC), datetime(2023, 7, 1, tzinfo=UTC))
CONFIG = """\
storage: lmdb://{path}?map_size=4GB
exchanges:
  - id: binance
    markets:
      - {{symbol: BTC/USDT, timeframes: [1m], start: 2023-01-01}}
      - {{symbol: ETH/USDT, timeframes: [1m], start: 2023-01-01}}
"""
DAILY = """
SELECT date_trunc('day', open_time) AS day, first(open ORDER BY open_time) AS open,
       max(high) AS high, min(low) AS low, last(close ORDER BY open_time) AS close,
       sum(volume) AS volume
FROM candles
WHERE symbol = 'BTC/USDT' AND timeframe = '1m' AND {time_filter}
GROUP BY day ORDER BY day
"""
PRUNED = "open_time >= '2023-06-01' AND open_time < '2023-07-01'"
UNPRUNED = "strftime(open_time, '%Y-%m') = '2023-06'"


def synthetic_candles(start: datetime, end: datetime, seed: int) -> pl.DataFrame:
    rows = (to_ms(end) - to_ms(start)) // MINUTE_MS
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, rows)))
    spread = close * rng.uniform(0.0, 1e-3, rows)
    return pl.DataFrame(
        {
            "open_time": np.arange(rows, dtype=np.int64) * MINUTE_MS + to_ms(start),
            "open": np.concatenate([[close[0]], close[:-1]]),
            "high": close + spread,
            "low": close - spread,
            "close": close,
            "volume": rng.uniform(1.0, 50.0, rows),
            "quote_volume": rng.uniform(3e4, 1.5e6, rows),
            "trades": rng.integers(10, 2000, rows),
        }
    ).cast(CANDLE_SCHEMA)


def raw_read(md: MarketData, start: datetime, end: datetime) -> pl.DataFrame:
    """What ArcticDB itself returns for [start, end) of BTC/USDT 1m (its ranges include both ends)."""
    lib = md.store.library()
    date_range = (pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(milliseconds=1))
    return lib.read("binance/btc_usdt/1m", date_range=date_range, output_format="polars").data


def report(label: str, ours: float, raw: float) -> None:
    print(
        f"{label:<56} {ours * 1000:8.1f} ms  raw ArcticDB {raw * 1000:7.1f} ms  {ours / raw:5.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "marketdata.yaml"
        config.write_text(CONFIG.format(path=Path(folder) / "arcticdb"))
        md = MarketData(config)
        for seed, series in enumerate(md.config.series):
            md.store.write(series, synthetic_candles(*YEAR, seed), *map(to_ms, YEAR))

        year = md.candles("binance", "BTC/USDT", "1m", *YEAR)
        assert year.height == 525_600 == raw_read(md, *YEAR).height
        api = best_time(lambda: md.candles("binance", "BTC/USDT", "1m", *YEAR), args.repeat)
        raw_year = best_time(lambda: raw_read(md, *YEAR), args.repeat)
        report(f"API: one year of 1m candles ({year.height:,} rows)", api, raw_year)

        daily = md.sql(DAILY.format(time_filter=PRUNED))
        scan = md.last_scan
        assert daily.height == 30 and (scan.rows_read, scan.series_read) == (43_200, 1)
        expected = md.candles("binance", "BTC/USDT", "1m", *MONTH)
        assert (
            daily["high"].to_list()
            == expected.group_by_dynamic("open_time", every="1d")
            .agg(pl.col("high").max())["high"]
            .to_list()
        )
        pruned = best_time(lambda: md.sql(DAILY.format(time_filter=PRUNED)), args.repeat)
        raw_month = best_time(lambda: raw_read(md, *MONTH), args.repeat)
        report(f"SQL: daily OHLCV of one month ({scan.rows_read:,} rows read)", pruned, raw_month)

        assert_frame_equal(md.sql(DAILY.format(time_filter=UNPRUNED)), daily, check_exact=False)
        full = md.last_scan.rows_read
        unpruned = best_time(lambda: md.sql(DAILY.format(time_filter=UNPRUNED)), args.repeat)
        report(f"SQL: same, time filter not prunable ({full:,} rows read)", unpruned, raw_month)
        print(f"pruning speed-up: {unpruned / pruned:.1f}x")


if __name__ == "__main__":
    main()
