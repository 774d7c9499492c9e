"""Series locks and leases of both backends, across processes, and what happens when a holder
dies or (Postgres) its connection does."""

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import pytest

from marketdata_pipeline.config import Series
from marketdata_pipeline.coordination import Hold, LockLost, coordination_from
from marketdata_pipeline.storage.store import CandleStore
from marketdata_pipeline.timeframes import get_timeframe

from ..storage.test_store import candles


def _increment(spec, counter, times):
    """A read-modify-write that loses increments unless the lock serializes it."""
    backend = coordination_from(spec)
    for _ in range(times):
        with backend.series_lock("binance/btc_usdt/1m"):
            value = int(counter.read_text())
            time.sleep(0.002)
            counter.write_text(str(value + 1))


def test_the_lock_excludes_other_processes(spec, tmp_path):
    counter = tmp_path / "counter"
    counter.write_text("0")
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_increment, args=(spec, counter, 25)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
        assert w.exitcode == 0
    assert counter.read_text() == "100"


def test_the_lock_is_reentrant_in_a_thread_and_exclusive_between_threads(backend):
    with backend.series_lock("a") as outer, backend.series_lock("a") as inner:
        assert inner is outer
        other = threading.Thread(target=lambda: backend.series_lock("a").__enter__())
        other.daemon = True
        other.start()
        other.join(0.5)
        assert other.is_alive()  # a second thread waits


def _hold_after_fork(backend, held, release) -> None:
    with backend.series_lock("a"):
        held.set()
        release.wait(60)


def test_a_forked_child_holds_the_lock_against_its_parent(backend):
    """A Dagster step forks: the child must not reuse the parent's lock sessions (in Postgres
    an advisory lock is reentrant within a session, so both would get through)."""
    with backend.series_lock("a"):
        pass  # the parent now has an idle lock session and the name's id
    fork = multiprocessing.get_context("fork")
    held, release = fork.Event(), fork.Event()
    child = fork.Process(target=_hold_after_fork, args=(backend, held, release))
    child.start()
    try:
        assert held.wait(60)
        parent = threading.Thread(target=lambda: backend.series_lock("a").__enter__())
        parent.daemon = True
        parent.start()
        parent.join(1.0)
        assert parent.is_alive()  # the parent waits for its child's lock
    finally:
        release.set()
        child.join(60)
    assert child.exitcode == 0


HOLDER = """
import sys, time
from marketdata_pipeline.coordination import coordination_from
spec = eval(sys.argv[1])
with coordination_from(spec).{kind}(sys.argv[2]):
    print("held", flush=True)
    time.sleep(600)
"""


def hold_in_process(spec, kind: str, name: str) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(kind=kind), repr(spec), name],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_killed_holder_releases_its_lock(spec, backend):
    holder = hold_in_process(spec, "series_lock", "binance/btc_usdt/1m")
    try:
        with backend.lease("binance/btc_usdt/1m"):
            pass  # leases are apart from locks
        got = []
        waiter = threading.Thread(
            target=lambda: got.append(backend.series_lock("binance/btc_usdt/1m").__enter__())
        )
        waiter.daemon = True
        waiter.start()
        waiter.join(0.5)
        assert not got  # held by the other process
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    waiter.join(60)
    assert got and got[0].waited > 0


def test_a_lease_says_who_holds_it_and_dies_with_its_holder(spec, backend):
    holder = hold_in_process(spec, "lease", "binance/btc_usdt/book.collector")
    try:
        with backend.lease("binance/btc_usdt/book.collector") as taken_by:
            assert taken_by.startswith(f"pid {holder.pid} on ") or taken_by.startswith(
                f"marketdata pid {holder.pid} on "
            )
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 60  # Postgres ends the dead client's session soon after
    while True:
        with backend.lease("binance/btc_usdt/book.collector") as taken_by:
            if isinstance(taken_by, Hold) or time.monotonic() > deadline:
                break
        time.sleep(0.05)
    assert isinstance(taken_by, Hold)


SERIES = Series("binance", "BTC/USDT", get_timeframe("1m"), date(2024, 1, 1))


def test_a_write_whose_lock_connection_died_fails_and_writes_nothing(pg_url, tmp_path):
    """The lock went with its connection, so another writer may hold it: writing anyway could
    lose that writer's rows."""
    import psycopg

    store = CandleStore(
        f"lmdb://{tmp_path / 'adb'}?map_size=1GB", {"data_dir": str(tmp_path), "url": pg_url}
    )
    with store.lock(SERIES) as hold:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            (pid,) = admin.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
            ).fetchone()
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        with pytest.raises(LockLost, match="connection died"):
            store.write(SERIES, candles(0, 3), 0, 180_000)
        with pytest.raises(LockLost):
            hold.confirm()
        with store.coordinator._advisory(*hold.key[:1], SERIES.name, wait=False) as other:
            assert other is not None  # indeed free for another writer
    assert store.read(SERIES).is_empty()
    assert store.write(SERIES, candles(0, 3), 0, 180_000).rows_written == 3  # heals after


def test_names_whose_hashes_collide_get_locks_of_their_own(pg_url):
    """Lock keys are serial ids from md_names, not hashes: two names whose Postgres `hashtext`
    collides (found here among 300,000 names) still lock apart. A 64-bit hash would only make
    collisions rarer; unique ids make them impossible."""
    import psycopg

    backend = coordination_from({"data_dir": "unused", "url": pg_url})
    with psycopg.connect(pg_url) as db:
        first, second = db.execute(
            "SELECT min(n), max(n) FROM (SELECT 'binance/s' || i || '/1m' AS n"
            " FROM generate_series(1, 300000) i) names GROUP BY hashtext(n)"
            " HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        (same,) = db.execute("SELECT hashtext(%s) = hashtext(%s)", [first, second]).fetchone()
    assert same and first != second
    assert backend.name_id(first) != backend.name_id(second)
    holder = hold_in_process({"data_dir": "x", "url": pg_url}, "series_lock", first)
    try:
        with backend.lease(second) as taken_by, backend.series_lock(second) as hold:
            assert isinstance(taken_by, Hold) and hold.waited < 5
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
