"""Coverage: which time ranges of a series are known complete, recorded beside its rows."""

from marketdata_pipeline.coordination import embedded
from marketdata_pipeline.storage.coverage import Coverage
from marketdata_pipeline.storage.schema import COVERAGE, TRADES
from marketdata_pipeline.storage.store import CandleStore, Symbol


def test_missing_is_what_the_ranges_leave_out():
    coverage = Coverage([(10, 20), (30, 40)], [])
    assert coverage.missing(0, 50) == [(0, 10), (20, 30), (40, 50)]
    assert coverage.missing(12, 18) == []
    assert coverage.missing(15, 35) == [(20, 30)]
    assert coverage.missing_in([(0, 25), (25, 60)], 5, 45) == [
        (5, 10),
        (20, 25),
        (25, 30),
        (40, 45),
    ]


def test_cover_merges_touching_ranges_and_keeps_gaps(tmp_path):
    store = CandleStore(f"lmdb://{tmp_path / 'db'}", embedded(tmp_path))
    series = Symbol("binance/btc_usdt/trades")
    assert store.coverage(series, TRADES) == Coverage([], [])
    store.cover(series, TRADES, (20, 30), [(5, 7)])
    store.cover(series, TRADES, (0, 10))
    store.cover(series, TRADES, (10, 20), [(5, 7), (9, 10)])
    assert store.coverage(series, TRADES) == Coverage([(0, 30)], [(5, 7), (9, 10)])
    versions = store.library(COVERAGE).list_versions(f"{TRADES}/{series.name}")
    assert len(versions) == 1  # each cover prunes the ones before it
