"""Counters and heartbeats: what long-lived processes report through the shared backend."""

import multiprocessing

from marketdata_pipeline.coordination import coordination_from


def _count(spec, times):
    backend = coordination_from(spec)
    for _ in range(times):
        backend.add_counts([("rows_written", {"data": "candles"}, 2.0)])


def test_counters_merge_add_across_processes(spec, backend):
    backend.add_counts(
        [
            ("requests", {"exchange": "binance", "status": "200"}, 3),
            ("requests", {"status": "429", "exchange": "binance"}, 1),
        ]
    )
    backend.add_counts([("requests", {"status": "200", "exchange": "binance"}, 4)])
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_count, args=(spec, 25)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert backend.counts() == [
        ("requests", {"exchange": "binance", "status": "200"}, 7.0),
        ("requests", {"exchange": "binance", "status": "429"}, 1.0),
        ("rows_written", {"data": "candles"}, 150.0),
    ]


def test_the_newest_beat_of_each_name_wins(backend):
    backend.beat("stream binance", {"connected": False})
    backend.beat("api", {"port": 8000})
    backend.beat("stream binance", {"connected": True, "lag_seconds": 0.5})
    beats = backend.beats()
    assert [(b.name, b.payload) for b in beats] == [
        ("api", {"port": 8000}),
        ("stream binance", {"connected": True, "lag_seconds": 0.5}),
    ]
    assert all(0 <= b.age_seconds < 60 for b in beats)
    backend.ping()


def test_the_postgres_password_comes_from_the_environment_variable_named(own_postgres, monkeypatch):
    import psycopg
    import pytest

    from marketdata_pipeline.config import ConfigError

    with psycopg.connect(own_postgres.url(), autocommit=True) as db:
        db.execute("CREATE ROLE md_user LOGIN PASSWORD 'pw-123'")
        db.execute("CREATE DATABASE md OWNER md_user")
    hba = own_postgres.data / "pg_hba.conf"
    hba.write_text("host all md_user 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    own_postgres.reload()
    spec = {"data_dir": "unused", "url": own_postgres.url("md").replace("postgres@", "md_user@")}
    spec["password_env"] = "MD_TEST_PG_PASSWORD"
    monkeypatch.delenv("MD_TEST_PG_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="names MD_TEST_PG_PASSWORD, which is not set"):
        coordination_from(spec).ping()
    monkeypatch.setenv("MD_TEST_PG_PASSWORD", "wrong")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        coordination_from(spec).connect()
    monkeypatch.setenv("MD_TEST_PG_PASSWORD", "pw-123")
    backend = coordination_from(spec)
    backend.ping()
    assert backend.execute("SELECT current_user") == [("md_user",)]


def test_the_postgres_backend_says_when_it_is_unreachable_and_recovers(own_postgres):
    import psycopg
    import pytest

    backend = coordination_from({"data_dir": "unused", "url": own_postgres.url()})
    budget = backend.budget("binance", 10, 60)
    assert budget.try_take(4) == 0.0
    with backend.series_lock("binance/btc_usdt/1m"):
        pass  # its connection waits in the pool for the next lock
    own_postgres.stop()
    with pytest.raises(psycopg.OperationalError):
        backend.ping()
    own_postgres.start()
    backend.ping()
    assert budget.used() == 4
    with backend.series_lock("binance/btc_usdt/1m") as hold:
        hold.confirm()
