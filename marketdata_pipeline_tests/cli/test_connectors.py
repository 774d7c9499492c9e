"""`marketdata connectors`: the listing with budgets and usage, and `add`, `enable`, `disable`
editing the config in place."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from marketdata_pipeline.cli.main import main
from marketdata_pipeline.config import load_config
from marketdata_pipeline.coordination import coordination_for

CONFIG = """\
# two connectors, one switched off
exchanges:
  - id: binance
    rate_limit: {weight: 1200, period_seconds: 10}   # stricter than the default
    markets:
      - {symbol: BTC/USDT, timeframes: [1m], start: 2024-01-01}
      - {symbol: ETH/USDT, timeframes: [1h], start: 2024-01-01, enabled: false}
  - id: okx
    enabled: false
    pool_size: 2
"""


def note(url: str) -> str:
    return (
        f"note: no Dagster webserver answers at {url}; reload the code location in the UI or"
        " restart dagster dev to see the change\n"
    )


@pytest.fixture
def path(tmp_path, monkeypatch):
    path = tmp_path / "marketdata.yaml"
    path.write_text(CONFIG)
    monkeypatch.setenv("MARKETDATA_CONFIG", str(path))
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_every_connector_with_its_budget_usage_pool_and_markets(path):
    config = load_config(path)
    assert coordination_for(config).budget("binance", 1200, 10).try_take(7) == 0
    result = run("connectors")
    assert (result.exit_code, result.stderr) == (0, "")
    assert lines(result.stdout) == [
        "exchange  status    budget    source  used  pool  markets",
        "binance   enabled   1200/10s  config  7     4     BTC/USDT, ETH/USDT (disabled)",
        "okx       disabled  18.18/2s  ccxt    0     2     -",
    ]


def test_listing_creates_no_budget_file(path):
    assert lines(run("connectors").stdout)[1].split()[4] == "0"
    assert not (load_config(path).data_dir / "budgets.sqlite").exists()


def test_no_connector_yet(tmp_path, monkeypatch):
    (tmp_path / "marketdata.yaml").write_text("exchanges: []\n")
    monkeypatch.setenv("MARKETDATA_CONFIG", str(tmp_path / "marketdata.yaml"))
    assert run("connectors").stdout == (
        "no connectors configured; add one with `marketdata connectors add ID`\n"
    )


def test_add_a_connector_then_again(path, no_webserver):
    result = run("connectors", "add", "Kraken")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{path}: added connector kraken; add markets with"
        " `marketdata markets add kraken SYMBOL --timeframes 1m,1h --start YYYY-MM-DD`\n",
        note(no_webserver),
    )
    assert path.read_text() == CONFIG + "  - id: kraken\n"
    again = run("connectors", "add", "kraken")
    assert (again.exit_code, again.stdout, again.stderr) == (
        0,
        f"{path}: connector kraken already exists; nothing changed\n",
        "",
    )
    assert path.read_text() == CONFIG + "  - id: kraken\n"
    assert run("connectors", "add", "okx").stdout == (
        f"{path}: connector okx already exists (disabled; enable it with"
        " `marketdata connectors enable okx`); nothing changed\n"
    )


def test_an_unknown_exchange_id_is_refused_and_the_file_left_alone(path):
    before = os.stat(path)
    result = run("connectors", "add", "binanse")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"error: {path}: exchanges[binanse].id: unknown exchange id 'binanse'; use a ccxt"
        " exchange id such as binance, okx, bybit\n",
    )
    assert path.read_text() == CONFIG and os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_the_first_connector_creates_the_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MARKETDATA_CONFIG", str(tmp_path / "marketdata.yaml"))
    result = run("connectors", "add", "binance", "--dagster-url", "http://127.0.0.1:9")
    assert result.exit_code == 0 and result.stderr == note("http://127.0.0.1:9")
    assert (tmp_path / "marketdata.yaml").read_text() == "exchanges:\n  - id: binance\n"


def test_enable_and_disable(path, no_webserver):
    result = run("connectors", "enable", "okx")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{path}: enabled connector okx\n",
        note(no_webserver),
    )
    assert path.read_text() == CONFIG.replace("    enabled: false\n", "    enabled: true\n")
    assert [c.id for c in load_config(path).connectors] == ["binance", "okx"]

    result = run("connectors", "disable", "binance")
    assert result.stdout == f"{path}: disabled connector binance\n"
    assert path.read_text() == CONFIG.replace(
        "    enabled: false\n", "    enabled: true\n"
    ).replace("  - id: binance\n", "  - id: binance\n    enabled: false\n")
    assert [c.id for c in load_config(path).connectors] == ["okx"]
    assert "disabled" in lines(run("connectors").stdout)[1].split()

    again = run("connectors", "disable", "binance")
    assert (again.exit_code, again.stdout, again.stderr) == (
        0,
        f"{path}: connector binance is already disabled; nothing changed\n",
        "",
    )


def test_enabling_an_unconfigured_connector_names_the_fix(path):
    before = path.read_bytes()
    result = run("connectors", "enable", "bybit")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {path}: no connector 'bybit' (configured: binance, okx); add it with"
        " `marketdata connectors add bybit`\n",
    )
    assert path.read_bytes() == before
