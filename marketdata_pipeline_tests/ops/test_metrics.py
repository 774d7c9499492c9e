"""Counts are added to the shared counters in batches, every few seconds and at exit (also of
a Dagster step's multiprocessing child), once each, and kept while the backend is down."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time

import pytest

from marketdata_pipeline.coordination import coordination_from, embedded
from marketdata_pipeline.coordination.embedded import EmbeddedCoordination
from marketdata_pipeline.ops import metrics
from marketdata_pipeline.ops.metrics import Tally, tally_for

REQUEST = {"exchange": "binance", "endpoint": "/api/v3/klines", "status": "200"}


class Spy(EmbeddedCoordination):
    """The embedded backend, counting its writes of counters."""

    writes = 0

    def add_counts(self, rows):
        self.writes += 1
        super().add_counts(rows)


def test_counts_are_written_in_one_batch_not_one_write_each(tmp_path):
    backend = Spy(tmp_path)
    tally = Tally(backend)
    for _ in range(1000):
        tally.add("marketdata_requests", **REQUEST)
    tally.add("marketdata_rows_written", 250, library="candles")
    assert backend.counts() == []
    tally.flush()
    assert backend.writes == 1
    assert backend.counts() == [
        ("marketdata_requests", REQUEST, 1000.0),
        ("marketdata_rows_written", {"library": "candles"}, 250.0),
    ]
    tally.flush()  # nothing new: no write
    assert backend.writes == 1


def test_a_count_with_other_labels_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"marketdata_retries takes the labels \('exchange',\)"):
        Tally(Spy(tmp_path)).add("marketdata_retries", library="candles")


def test_the_flusher_writes_every_few_seconds(tmp_path, monkeypatch):
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 0.2)
    backend = Spy(tmp_path)
    Tally(backend).add("marketdata_retries", 3, exchange="binance")
    deadline = time.monotonic() + 30
    while not backend.counts() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backend.counts() == [("marketdata_retries", {"exchange": "binance"}, 3.0)]


def count_and_exit(data_dir: str, value: float) -> None:
    """A child's work: count, never flush."""
    tally_for(coordination_from(embedded(data_dir))).add("marketdata_retries", value, exchange="x")


def test_a_process_adds_its_counts_when_it_exits(tmp_path):
    code = (
        "from marketdata_pipeline_tests.ops.test_metrics import count_and_exit;"
        f"count_and_exit({str(tmp_path)!r}, 7)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert EmbeddedCoordination(tmp_path).counts() == [
        ("marketdata_retries", {"exchange": "x"}, 7.0)
    ]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_a_multiprocessing_child_adds_its_own_counts_once(tmp_path, method, monkeypatch):
    """Dagster runs steps in multiprocessing children, whose exit skips atexit; a forked child
    inherits its parent's counts not yet written, which are the parent's to write."""
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 600)  # the parent writes when told here
    parent = tally_for(coordination_from(embedded(tmp_path)))
    parent.add("marketdata_retries", 5, exchange="x")
    child = multiprocessing.get_context(method).Process(
        target=count_and_exit, args=(str(tmp_path), 2)
    )
    child.start()
    child.join(120)
    assert child.exitcode == 0
    assert EmbeddedCoordination(tmp_path).counts() == [
        ("marketdata_retries", {"exchange": "x"}, 2.0)
    ]
    parent.flush()
    assert EmbeddedCoordination(tmp_path).counts() == [
        ("marketdata_retries", {"exchange": "x"}, 7.0)
    ]


def test_counts_are_kept_while_postgres_is_down_and_added_when_it_is_back(own_postgres, caplog):
    backend = coordination_from({"data_dir": "unused", "url": own_postgres.url()})
    tally = Tally(backend)
    tally.add("marketdata_retries", 2, exchange="binance")
    tally.flush()
    tally.add("marketdata_retries", 3, exchange="binance")
    own_postgres.stop()
    tally.flush()  # fails: kept
    tally.add("marketdata_retries", 4, exchange="binance")
    tally.flush()  # fails again: said once
    own_postgres.start()
    tally.flush()
    assert backend.counts() == [("marketdata_retries", {"exchange": "binance"}, 9.0)]
    said = [  # this tally's (flushed here), not another test's flusher thread's
        r.getMessage()
        for r in caplog.records
        if r.name == "marketdata_pipeline.ops.metrics" and r.threadName == "MainThread"
    ]
    assert len(said) == 2 and said[0].startswith("metrics: counts kept in memory, adding them")
    assert said[1] == "metrics: the counts kept in memory are added again"
