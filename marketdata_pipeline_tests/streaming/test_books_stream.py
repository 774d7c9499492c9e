"""Streamed book snapshots: a failed write keeps them (an exchange keeps no history of its
book, so a snapshot dropped here is gone for good)."""

import asyncio

from marketdata_pipeline.books.layout import snapshot_rows
from marketdata_pipeline.simulator.book import book_at
from marketdata_pipeline.simulator.symbols import make_specs
from marketdata_pipeline.storage.schema import ORDER_BOOKS
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.streaming.books_stream import Snapshots
from marketdata_pipeline.streaming.connection import EventLog

from ..conftest import market

BTC = make_specs(None, 120)["BTCUSDT"]


def test_a_failed_write_keeps_the_snapshots_for_the_next_flush(make_project, monkeypatch):
    project = make_project([market(order_book={"depth": 5, "every_seconds": 1})])
    (series,) = project.config.polled_series
    store = store_for(project.config)
    real_write, calls = store.write, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("storage unreachable")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(store, "write", flaky)
    lines: list[str] = []
    snapshots = Snapshots(series, EventLog(lines.append))
    books = [book_at(BTC, 1000 + i, 5).to_ccxt(BTC) for i in range(3)]
    for i, book in enumerate(books):
        snapshots.add(snapshot_rows([book], 5, 1_700_000_000_000 + 1000 * i))
    asyncio.run(snapshots.flush(store))
    assert snapshots.counts.rows_written == 0
    assert any("event=write_failed" in line for line in lines)
    asyncio.run(snapshots.flush(store))
    assert snapshots.counts.rows_written == 3
    stored = store.read(series, None, None, ORDER_BOOKS)
    assert stored["update_id"].to_list() == [1000, 1001, 1002]
