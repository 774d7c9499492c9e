"""Ranges remembered complete count only while no process has written to the store since."""

from __future__ import annotations

import multiprocessing

from marketdata_pipeline.storage.complete import CompleteRanges
from marketdata_pipeline.storage.schema import INDICATORS

from .test_store import SERIES, T0, candles, store_in

URI = "lmdb://{}/adb?map_size=1GB"


def write_in_another_process(tmp_path) -> None:
    process = multiprocessing.get_context("spawn").Process(target=_write, args=(str(tmp_path),))
    process.start()
    process.join(60)
    assert process.exitcode == 0


def _write(folder: str) -> None:
    from pathlib import Path

    store_in(Path(folder)).write(SERIES, candles(T0 + 500 * 60_000, 10), T0, T0 + 10**9)


def test_a_key_recorded_at_the_current_version_is_known(tmp_path):
    store_in(tmp_path).write(SERIES, candles(T0, 100), T0, T0 + 10**9)
    known = CompleteRanges.for_storage(URI.format(tmp_path))
    version = known.version()
    known.record(["a", "b"], version)
    assert known.known(["a"]) and known.known(["a", "b"])
    assert not known.known(["a", "c"])
    assert known.file == tmp_path / "adb.complete.json"


def test_a_write_by_any_process_forgets_what_was_known(tmp_path):
    store_in(tmp_path).write(SERIES, candles(T0, 100), T0, T0 + 10**9)
    known = CompleteRanges.for_storage(URI.format(tmp_path))
    known.record(["a"], known.version())
    write_in_another_process(tmp_path)
    assert not known.known(["a"])


def test_a_derived_library_write_counts_too(tmp_path):
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 100), T0, T0 + 10**9)
    store.replace(SERIES, candles(T0, 100).select("open_time", "close"), T0, T0 + 10**9, INDICATORS)
    known = CompleteRanges.for_storage(URI.format(tmp_path))
    known.record(["a"], known.version())
    store.replace(SERIES, candles(T0, 0).select("open_time", "close"), T0, T0 + 10**9, INDICATORS)
    assert not known.known(["a"])


def test_a_finding_older_than_a_write_is_not_recorded(tmp_path):
    store = store_in(tmp_path)
    store.write(SERIES, candles(T0, 100), T0, T0 + 10**9)
    known = CompleteRanges.for_storage(URI.format(tmp_path))
    before = known.version()
    store.write(SERIES, candles(T0 + 100 * 60_000, 10), T0, T0 + 10**9)
    known.record(["a"], before)
    assert not known.known(["a"])
    assert not known.file.exists()


def test_stores_without_a_cheap_version_get_no_cache(tmp_path):
    assert CompleteRanges.for_storage("s3://bucket:prefix?region=eu-west-1") is None
    assert CompleteRanges.for_storage(URI.format(tmp_path / "missing")).version() is None
