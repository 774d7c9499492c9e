"""The request budget of both backends, taken by many processes at once: every grant is
recorded by a trigger on the backend's own grants table, so the windows are checked on the
times the backend decided, not on when the processes got to log them."""

import multiprocessing
import sqlite3
import time

import pytest

from marketdata_pipeline.coordination import coordination_from

AUDIT = {
    "embedded": [
        "CREATE TABLE IF NOT EXISTS audit (key TEXT, ts REAL, weight INTEGER)",
        "CREATE TRIGGER IF NOT EXISTS audit_grants AFTER INSERT ON grants"
        " BEGIN INSERT INTO audit VALUES (new.key, new.ts, new.weight); END",
    ],
    "postgres": [
        "CREATE TABLE audit (key text, ts double precision, weight double precision)",
        "CREATE FUNCTION audit_grant() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN INSERT INTO audit VALUES (new.key, new.ts, new.weight); RETURN new; END $$",
        "CREATE TRIGGER audit_grants AFTER INSERT ON md_grants FOR EACH ROW"
        " EXECUTE FUNCTION audit_grant()",
    ],
}


def kind_of(spec) -> str:
    return "postgres" if spec.get("url") else "embedded"


def audited(spec, budget):
    """Record every grant of `budget` from now on; returns a reader of (ts, weight) rows."""
    budget.used()  # the tables exist
    if kind_of(spec) == "embedded":
        budget.try_take(0)
        db = sqlite3.connect(budget.path, isolation_level=None)
        run = lambda sql: db.execute(sql).fetchall()  # noqa: E731
    else:
        run = budget.backend.execute
    for sql in AUDIT[kind_of(spec)]:
        run(sql)
    return lambda: sorted((ts, w) for key, ts, w in run("SELECT * FROM audit") if key == budget.key)


def _hammer(spec, takes, weight):
    budget = coordination_from(spec).budget("k", 40, 0.5)
    for _ in range(takes):
        while (delay := budget.try_take(weight)) > 0:
            time.sleep(delay)


def most_in_any_window(grants, window) -> int:
    """The largest weight granted within (t - window, t] for any grant time t."""
    return max(sum(w for s, w in grants if t - window < s <= t) for t, _ in grants)


def test_eight_processes_never_exceed_the_budget_in_any_rolling_window(spec, backend):
    budget = backend.budget("k", 40, 0.5)
    grants = audited(spec, budget)
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_hammer, args=(spec, 12, 2 + i % 2)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
        assert w.exitcode == 0
    granted = grants()
    assert len(granted) == 96
    assert sum(w for _, w in granted) == 4 * 12 * 2 + 4 * 12 * 3
    assert most_in_any_window(granted, budget.window) <= 40
    # The budget is used, not merely respected: some window holds nearly all of it.
    assert most_in_any_window(granted, budget.window) >= 36


def test_a_full_window_says_how_long_until_a_grant_ends(backend):
    budget = backend.budget("binance", 10, 60)
    assert [budget.try_take(4), budget.try_take(4)] == [0.0, 0.0]
    assert budget.used() == 8
    assert 59 < budget.try_take(4) <= budget.window  # until the first grant leaves the window
    assert budget.try_take(2) == 0.0  # what still fits is granted
    assert budget.try_take(25) > 59  # heavier than the window: waits for an empty window
    assert budget.last_grant() == pytest.approx(time.time(), abs=30)
    assert backend.budget("okx", 10, 60).used() == 0  # budgets are per key
    assert backend.budget("okx", 10, 60).try_take(2.5) == 0.0  # ccxt's costs can be fractional


def _paused_for(spec, out):
    budget = coordination_from(spec).budget("binance", 1000, 60)
    out.put((budget.paused_for(), budget.try_take(1)))


def test_a_pause_holds_every_process(spec, backend):
    backend.budget("binance", 1000, 60).pause(30)
    backend.budget("binance", 1000, 60).pause(5)  # a shorter pause never shortens one
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    other = spawn.Process(target=_paused_for, args=(spec, out))
    other.start()
    paused, delay = out.get(timeout=120)
    other.join(30)
    assert 20 < paused <= 30 and 20 < delay <= 30
    assert backend.budget("okx", 1000, 60).try_take(1) == 0.0  # other connectors go on


def test_a_postgres_take_waits_for_the_row_of_its_budget_then_sees_what_was_committed(pg_url):
    """One take at a time per budget: a take decided on a window that a concurrent taker is
    still changing would grant weight twice."""
    import threading

    import psycopg

    backend = coordination_from({"data_dir": "unused", "url": pg_url})
    budget = backend.budget("k", 10, 60)
    budget.used()
    with psycopg.connect(pg_url) as other:  # another taker, between its read and its commit
        other.execute("INSERT INTO md_budgets (key) VALUES ('k')")
        other.commit()
        other.execute("SELECT * FROM md_budgets WHERE key = 'k' FOR UPDATE")
        other.execute("INSERT INTO md_grants VALUES ('k', md_now(), 10)")
        result = []
        taker = threading.Thread(target=lambda: result.append(budget.try_take(1)))
        taker.start()
        while taker.is_alive():
            with psycopg.connect(pg_url) as probe:
                (waiting,) = probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE '%md_budget_take%'"
                ).fetchone()
            if waiting:
                break
            time.sleep(0.01)
        other.commit()
        taker.join(30)
    assert result and result[0] > 59  # the full window was seen: no second grant
