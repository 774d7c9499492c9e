"""A collector's Postgres leases die with their connections (a database restart): it takes them
again, or stops when another collector took one meanwhile, so no snapshot is stored twice."""

import asyncio
import threading

import psycopg

from marketdata_pipeline.coordination.pg_schema import LEASES
from marketdata_pipeline.ops import waits
from marketdata_pipeline.storage.schema import ORDER_BOOKS
from marketdata_pipeline.streaming import leases
from marketdata_pipeline.streaming.collector import Collector

from ..conftest import marketdata, wait_for
from .test_collector import book_project


def lease_sessions(url: str, granted: bool = True) -> list[int]:
    """The sessions holding (or waiting for) a lease in this database."""
    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
            " AND granted = %s AND database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database())",
            [LEASES, granted],
        ).fetchall()
    return [pid for (pid,) in rows]


def end_sessions(url: str, pids: list[int]) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        for pid in pids:
            db.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])  # returns once ended


def run_collector(project, lines: list[str]):
    """A collector in a thread of its own; returns it and the function that stops it."""
    collector = Collector(
        project.config, project.config.polled_series, project.store, lines.append, 0.5
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(collector.run(stop),))
    thread.start()

    def stopped() -> None:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        assert not thread.is_alive()

    return collector, stopped


def said(lines: list[str], text: str) -> int:
    return sum(text in line for line in lines)


def test_leases_lost_with_their_connections_are_taken_again(make_project, pg_url, monkeypatch):
    monkeypatch.setattr(leases, "CHECK_SECONDS", 0.2)
    project, book, _ = book_project(make_project, settings={"coordination": pg_url})
    lines: list[str] = []
    collector, stopped = run_collector(project, lines)
    try:
        wait_for(lambda: len(lease_sessions(pg_url)) == 3, 60, "3 leases", every=0.05)
        end_sessions(pg_url, first := lease_sessions(pg_url))
        wait_for(lambda: said(lines, "the lease is taken again") == 3, 60, "3 retaken", every=0.05)
        wait_for(lambda: len(lease_sessions(pg_url)) == 3, 60, "3 leases held again", every=0.05)
        assert not set(first) & set(lease_sessions(pg_url))
        before = collector.stored[book.name]
        wait_for(
            lambda: collector.stored[book.name] > before, 60, "snapshot stored after", every=0.05
        )
    finally:
        stopped()
    assert f"{book.name}: the lease's connection died (" in "\n".join(lines)
    assert collector.lost == []
    stored = project.store.read(book, None, None, ORDER_BOOKS)
    slots = stored["local_timestamp"].dt.epoch("ms") // 1000
    assert slots.is_unique().all() and stored.height == collector.stored[book.name]


def test_leases_are_taken_again_when_the_database_is_back(make_project, own_postgres, monkeypatch):
    monkeypatch.setattr(leases, "CHECK_SECONDS", 0.2)
    url = own_postgres.url()
    project, book, _ = book_project(make_project, settings={"coordination": url})
    lines: list[str] = []
    collector, stopped = run_collector(project, lines)
    try:
        wait_for(lambda: collector.stored[book.name] > 0, 60, "a snapshot stored", every=0.05)
        own_postgres.stop()
        wait_for(
            lambda: said(lines, "taking the leases again once the database answers"),
            60,
            "wait",
            every=0.05,
        )
        # Polls wait for their request budget (kept in the database) rather than go without.
        budget_wait = "binance request budget: the coordination database cannot be reached ("
        wait_for(
            lambda: any(budget_wait in w.what for w in waits.current()),
            60,
            "a budget wait",
            every=0.05,
        )
        own_postgres.start()
        wait_for(lambda: said(lines, "the lease is taken again") == 3, 60, "3 retaken", every=0.05)
        before = collector.stored[book.name]
        wait_for(
            lambda: collector.stored[book.name] > before, 60, "snapshot stored after", every=0.05
        )
    finally:
        stopped()
    assert collector.lost == [] and len(lease_sessions(url)) == 0
    stored = project.store.read(book, None, None, ORDER_BOOKS)
    assert stored.height == collector.stored[book.name]


def test_a_lease_another_collector_took_stops_the_stream_with_exit_1(make_project, pg_url):
    project, book, _ = book_project(make_project, settings={"coordination": pg_url})
    run = marketdata("stream", "--symbol", "BTC/USDT", cwd=project.config.path.parent, wait=False)
    try:
        wait_for(
            lambda: len(lease_sessions(pg_url)) == 2,
            60,
            "2 leases (BTC book, BTC ticker)",
            every=0.05,
        )
        with psycopg.connect(pg_url, autocommit=True, application_name="the other one") as other:
            (key,) = other.execute(
                "SELECT id FROM md_names WHERE name = %s", [f"{book.name}.collector"]
            ).fetchone()
            # Queued behind the stream's lease, so Postgres hands it over when that session
            # ends, before the stream's next check could take it again.
            taking = threading.Thread(
                target=other.execute, args=("SELECT pg_advisory_lock(%s, %s)", [LEASES, key])
            )
            taking.start()
            wait_for(
                lambda: len(lease_sessions(pg_url, granted=False)) == 1,
                60,
                "the other waits",
                every=0.05,
            )
            end_sessions(pg_url, lease_sessions(pg_url))
            taking.join(30)
            out, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 1, err
    assert out.startswith("stored ")
    (error,) = [line for line in err.splitlines() if book.name in line and "lease" in line]
    assert error.startswith(f"error: {book.name}: the lease's connection died (")
    assert error.endswith(
        ", and the other one collects it now; stopping (a restart collects the series still free)"
    )
