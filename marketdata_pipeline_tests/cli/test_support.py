"""What the commands share: results written where asked, or one line saying why not."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from marketdata_pipeline.cli.main import main

MISSING = "/nonexistent/dir/f.{}"
CANDLES = ["candles", "binance", "BTC/USDT", "1m"]
SQL = ["sql", "SELECT symbol, close FROM candles"]


@pytest.mark.parametrize("command", [CANDLES, SQL])
@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_output_into_a_missing_folder_names_the_path_and_the_fix(make_project, command, fmt):
    make_project()
    path = MISSING.format(fmt)
    result = CliRunner().invoke(main, [*command, "--format", fmt, "--output", path])
    assert (result.exit_code, result.output) == (
        2,
        f"error: --output {path}: folder /nonexistent/dir does not exist;"
        " create it or write elsewhere\n",
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_output_the_system_refuses_is_one_line(make_project, fmt):
    make_project()
    path = f"/proc/refused.{fmt}"  # /proc exists, but no file can be created in it
    result = CliRunner().invoke(main, [*CANDLES, "--format", fmt, "--output", path])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith(f"error: --output {path}: cannot write (")
    assert result.output.endswith("); choose a path you can write\n")
    assert "No such file or directory" in result.output
