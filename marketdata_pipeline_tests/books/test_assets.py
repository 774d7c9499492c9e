"""The daily order book, metrics and ticker assets over what the collector stored."""

import time

import polars as pl

from marketdata_pipeline.books.metrics import book_metrics
from marketdata_pipeline.storage.schema import BOOK_METRICS, ORDER_BOOKS

from ..conftest import day_key
from ..streaming.test_collector import DEPTH, book_project, collect


def checks_of(result) -> dict:
    return {
        (
            e.event_specific_data.asset_key.path[-1],
            e.event_specific_data.check_name,
        ): e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_a_paused_collector_shows_as_missing_slots_not_invented_rows(make_project):
    project, book, _ = book_project(make_project)
    collect(project, 60, until=2)
    paused = project.store.read(book, None, None, ORDER_BOOKS)
    time.sleep(3)
    collect(project, 60, until=2)
    stored = project.store.read(book, None, None, ORDER_BOOKS)
    time.sleep(1)  # the last snapshot's slot is over: only whole slots are expected
    result = project.materialize(book, day_key(0))
    checks = checks_of(result)
    structure = checks[("order_book", "structure")]
    cadence = checks[("order_book", "cadence")]
    assert structure.passed
    assert not cadence.passed
    seconds = stored["local_timestamp"].dt.epoch("ms") // 1000
    first = int(seconds.min())
    expected_slots = int(cadence.metadata["rows_checked"].value)
    missing = expected_slots - seconds.unique().len()
    assert missing >= 2 and cadence.metadata["violations"].value == missing
    assert cadence.metadata["completeness"].value == round(1 - missing / expected_slots, 6)
    assert expected_slots >= int(seconds.max()) - first + 1
    assert stored.height == seconds.unique().len() > paused.height  # nothing invented
    metrics = project.store.read(book, None, None, BOOK_METRICS)
    expected = book_metrics(stored, DEPTH)
    assert metrics.height == stored.height
    assert metrics["mid"].equals(expected["mid"]) and metrics["spread_bps"].equals(
        expected["spread_bps"]
    )
    assert (metrics["spread"] > 0).all()


def test_tickers_are_checked_and_complete_when_collected_throughout(make_project):
    project, _, tickers = book_project(make_project)
    collect(project, 60, until=3)
    result = project.materialize(tickers[0], day_key(0))
    checks = checks_of(result)
    assert checks[("ticker", "structure")].passed
    assert isinstance(project.store.read(tickers[0], None, None, "tickers"), pl.DataFrame)
