"""The test services themselves: a real PostgreSQL that stops and starts, real ArcticDB on S3."""

import subprocess
import sys

import pandas as pd
import pytest

psycopg = pytest.importorskip("psycopg")


def test_postgres_stops_and_comes_back(own_postgres):
    with psycopg.connect(own_postgres.url()) as db:
        assert db.execute("SELECT current_user").fetchone() == ("postgres",)
    own_postgres.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(own_postgres.url(), connect_timeout=2)
    own_postgres.start()
    with psycopg.connect(own_postgres.url()) as db:
        assert db.execute("SELECT 1").fetchone() == (1,)


def test_each_test_database_starts_empty(postgres):
    first, second = postgres.new_database(), postgres.new_database()
    assert first != second
    with psycopg.connect(first) as db:
        db.execute("CREATE TABLE mark (x int)")
    with psycopg.connect(second) as db:
        assert db.execute("SELECT to_regclass('mark')").fetchone() == (None,)


def test_arcticdb_writes_through_s3_and_another_process_reads_it(s3_uri):
    import arcticdb

    frame = pd.DataFrame({"close": [1.5, 2.5]}, index=pd.date_range("2026-01-01", periods=2))
    arcticdb.Arctic(s3_uri).get_library("candles", create_if_missing=True).write("a/b/1m", frame)
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, arcticdb; "
            "print(arcticdb.Arctic(sys.argv[1])['candles'].read('a/b/1m').data['close'].sum())",
            s3_uri,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert read.stdout.strip() == "4.0", read.stderr[-2000:]
