"""`marketdata stream`: books and tickers polled on a slot grid, stored in batches, exactly."""

import asyncio
import signal
import time

import polars as pl

from marketdata_pipeline.books.layout import snapshot_rows
from marketdata_pipeline.simulator import Faults
from marketdata_pipeline.simulator.book import book_at
from marketdata_pipeline.simulator.symbols import make_specs
from marketdata_pipeline.storage.schema import ORDER_BOOKS, TICKERS
from marketdata_pipeline.streaming.collector import Collector, store_snapshots

from ..conftest import market, marketdata, wait_for
from .conftest import stop_when

BTC = make_specs(None, 30)["BTCUSDT"]  # the tests' simulator runs 30 trades a minute
DEPTH = 5


def book_project(make_project, every: float = 1.0, **connector):
    project = make_project(
        [
            market(order_book={"depth": DEPTH, "every_seconds": every}, ticker=True),
            market("ETH/USDT", ticker=True),
        ],
        ticker_every_seconds=every,
        **connector,
    )
    books = [s for s in project.config.polled_series if s.data == "order_book"]
    tickers = [s for s in project.config.polled_series if s.data == "ticker"]
    return project, books[0], tickers


def collect(project, seconds: float, until: int | None = None) -> Collector:
    """Collects for `seconds`, or with `until`, until every series stored that many rows
    (`seconds` then only bounds a machine too loaded to get there)."""
    lines: list[str] = []
    collector = Collector(
        project.config, project.config.polled_series, project.store, lines.append, 0.5
    )
    wanted = {s.name: until for s in project.config.polled_series} if until else {}

    async def run():
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        done = stop_when(stop, wanted, collector.stored) if until else stop.wait()
        await asyncio.gather(collector.run(stop), done)

    asyncio.run(run())
    collector.lines = lines
    return collector


def test_snapshots_are_the_exchange_books_at_their_update_ids(make_project, simulator):
    project, book, tickers = book_project(make_project)
    simulator.reset_stats()
    started = time.monotonic()
    collector = collect(project, 60, until=2)
    stored = project.store.read(book, None, None, ORDER_BOOKS)
    # At most one per whole second of the run; a slot missed under load is a gap, not a row.
    assert 2 <= stored.height <= time.monotonic() - started + 1
    slots = stored["local_timestamp"].dt.epoch("ms") // 1000
    assert slots.is_unique().all()
    for row in stored.iter_rows(named=True):
        expected = snapshot_rows([book_at(BTC, row["update_id"], DEPTH).to_ccxt(BTC)], DEPTH, 0)
        same = pl.DataFrame([row]).drop("timestamp", "local_timestamp")
        assert same.equals(expected.drop("timestamp", "local_timestamp"))
    # One tickers request a tick serves both markets: a row each per request.
    (ticks,) = {project.store.read(t, None, None, TICKERS).height for t in tickers}
    for ticker in tickers:
        rows = project.store.read(ticker, None, None, TICKERS)
        assert rows.height >= 2 and (rows["bid"] < rows["ask"]).all()
    stats = simulator.stats()
    # One depth request per snapshot (weight 5 at 5 levels) and one tickers request per tick
    # (weight 2), on top of loading the markets once (20).
    assert stats["depth_requests"] == stored.height
    assert stats["ticker_requests"] == ticks
    assert stats["weight_used_total"] == 20 + 5 * stored.height + 2 * ticks
    assert collector.stored == {book.name: stored.height, **{t.name: ticks for t in tickers}}


def test_a_slot_another_collector_stored_is_not_stored_twice(make_project):
    """Two collectors of one book (a lease lost to a second one, in the seconds before the
    first notices) poll the same slots: each slot keeps the snapshot stored first."""
    project, book, _ = book_project(make_project)
    first = snapshot_rows([book_at(BTC, 100, DEPTH).to_ccxt(BTC)] * 2, DEPTH, 0)
    first = first.with_columns(
        local_timestamp=pl.Series([5_020, 6_010]).cast(pl.Datetime("ms", "UTC"))
    )
    second = snapshot_rows([book_at(BTC, 101, DEPTH).to_ccxt(BTC)] * 3, DEPTH, 0)
    second = second.with_columns(
        local_timestamp=pl.Series([5_400, 6_900, 7_030]).cast(pl.Datetime("ms", "UTC"))
    )
    assert store_snapshots(project.store, book, [first]) == 2
    assert store_snapshots(project.store, book, [second]) == 1  # only slot 7 is new
    stored = project.store.read(book, None, None, ORDER_BOOKS)
    assert stored["local_timestamp"].dt.epoch("ms").to_list() == [5_020, 6_010, 7_030]
    assert stored["update_id"].to_list() == [100, 100, 101]


def test_a_second_collector_skips_the_series_the_first_one_holds(make_project):
    project, book, _ = book_project(make_project)
    first = marketdata(
        "stream", "--symbol", "BTC/USDT", "--for", "20", cwd=project.config.path.parent, wait=False
    )
    lease = project.config.data_dir / "locks" / (book.name.replace("/", "__") + ".collector.lease")
    wait_for(
        lambda: (
            first.poll() is not None
            or f"pid {first.pid}" in (lease.read_text() if lease.exists() else "")
        ),
        60,
        "the first one's lease",
        every=0.1,
    )
    assert first.poll() is None
    second = collect(project, 1.0)
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=30)
    assert any(
        f"{book.name}: already collected by pid {first.pid}" in line for line in second.lines
    )
    assert book.name not in second.stored


def test_sigterm_flushes_what_was_buffered_and_exits_0(make_project, simulator):
    project, book, _ = book_project(make_project)
    simulator.reset_stats()
    run = marketdata("stream", cwd=project.config.path.parent, wait=False)
    wait_for(  # two snapshots in its buffer, none flushed
        lambda: run.poll() is not None or simulator.stats()["depth_requests"] >= 2,
        60,
        "two snapshots",
        every=0.1,
    )
    assert run.poll() is None
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 0, err
    stored = project.store.read(book, None, None, ORDER_BOOKS).height
    assert stored >= 2 and out.startswith("stored ")


def test_nothing_to_stream_is_one_line_and_exit_2(make_project):
    project = make_project([market()])
    run = marketdata("stream", "--for", "1", cwd=project.config.path.parent)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        "error: nothing to stream: no market matching the filters has `stream: true`,"
        " `order_book:` or `ticker: true` in the config\n"
    )


def test_bad_answers_are_retried_and_never_stored(make_project, simulator):
    project, book, tickers = book_project(make_project, max_retries=8)
    simulator.set_faults(Faults(malformed_rate=0.3, error_rate=0.1, seed=4))
    try:
        collect(project, 60, until=3)
        faults = simulator.stats()["faults_injected"]
    finally:
        simulator.set_faults(Faults())
    assert sum(faults.values()) > 0
    stored = project.store.read(book, None, None, ORDER_BOOKS)
    assert stored.height >= 3 and stored["update_id"].is_not_null().all()
    for row in stored.iter_rows(named=True):
        expected = snapshot_rows([book_at(BTC, row["update_id"], DEPTH).to_ccxt(BTC)], DEPTH, 0)
        assert (
            pl.DataFrame([row])
            .drop("timestamp", "local_timestamp")
            .equals(expected.drop("timestamp", "local_timestamp"))
        )
    for ticker in tickers:
        rows = project.store.read(ticker, None, None, TICKERS)
        assert rows.height >= 3 and (rows["bid"] < rows["ask"]).all()
