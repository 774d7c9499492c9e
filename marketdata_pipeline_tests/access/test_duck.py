"""SQL reads the project's tables and nothing else: no files, extensions or settings."""

from __future__ import annotations

import polars as pl
import pytest
from click.testing import CliRunner

from marketdata_pipeline.access.duck import READ_ONLY, SqlError
from marketdata_pipeline.access.market_data import MarketData
from marketdata_pipeline.cli.sql import sql

FILES = "Permission Error: Cannot access file"
LOCKED = "Invalid Input Error: Cannot change configuration option"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("COPY (SELECT 1) TO 'x.csv'", f'{FILES} "x.csv"'),
        ("COPY candles TO 'out/c.parquet' (FORMAT parquet)", f'{FILES} "out/c.parquet"'),
        ("SELECT * FROM read_csv_auto('/etc/passwd')", f'{FILES} "/etc/passwd"'),
        ("SELECT * FROM read_parquet('real.parquet')", f'{FILES} "real.parquet"'),
        ("SELECT * FROM 'real.parquet'", f'{FILES} "real.parquet"'),
        ("SELECT * FROM glob('*')", f'{FILES} "*"'),
        ("ATTACH 'other.duckdb' AS other", f'{FILES} "{{dir}}/other.duckdb"'),
        ("INSTALL httpfs", "Permission Error: Cannot access directory"),
        ("LOAD httpfs", "Permission Error: Loading external extensions is disabled"),
        ("SET enable_external_access = true", f'{LOCKED} "enable_external_access"'),
        ("SET TimeZone = 'Asia/Tokyo'", f'{LOCKED} "TimeZone"'),
        ("RESET lock_configuration", f'{LOCKED} "lock_configuration"'),
        ("PRAGMA threads = 1", f'{LOCKED} "threads"'),
    ],
)
def test_escapes_are_refused_in_one_line_and_touch_no_file(make_project, tmp_path, query, message):
    make_project()
    (tmp_path / "out").mkdir()
    pl.DataFrame({"secret": [1]}).write_parquet(tmp_path / "real.parquet")
    MarketData().sql("SELECT count(*) FROM candles, indicators")  # opens the store's files
    before = sorted(tmp_path.rglob("*"))

    with pytest.raises(SqlError) as caught:
        MarketData().sql(query)
    error = str(caught.value)
    assert (
        error.startswith(message.format(dir=tmp_path))
        and error.endswith(f"; {READ_ONLY}")
        and "\n" not in error
    )
    result = CliRunner().invoke(sql, [query])
    assert (result.exit_code, result.output) == (2, f"error: {error}\n")

    assert sorted(tmp_path.rglob("*")) == before
    after = MarketData().sql(
        "SELECT current_setting('TimeZone') AS tz, current_setting('threads') > 1 AS threads,"
        " count(*) AS n FROM candles"
    )
    assert after.row(0) == ("UTC", True, 0)  # the next query runs, with the settings intact


def test_locked_settings_do_not_break_later_queries_or_their_time_zone(make_project):
    make_project()
    md = MarketData()
    for _ in range(3):  # every query gets a fresh cursor on the same locked database
        frame = md.sql("SELECT TIMESTAMPTZ '2024-01-01 00:00' = '2024-01-01'::TIMESTAMP AS utc")
        assert frame["utc"].to_list() == [True]
    variables = md.sql("SET VARIABLE x = 1")  # session state, gone with the query's cursor
    assert variables.is_empty()
    assert md.sql("SELECT getvariable('x') AS x")["x"].to_list() == [None]
