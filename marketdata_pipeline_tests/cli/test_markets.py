"""`marketdata markets`: add (checked against the exchange, an upsert), remove, enable and
disable edit the config in place; concurrent edits all land; a running `dagster dev` reloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from marketdata_pipeline.cli.main import main
from marketdata_pipeline.cli.reload import LOCATION
from marketdata_pipeline.config import load_config
from marketdata_pipeline.ops.instance import DAGSTER_YAML

from ..conftest import day_key, free_port, market, marketdata, today, write_config
from ..ops.test_dagster_dev import stop_group, wait_for

ROOT = Path(__file__).parents[2]
ETH = f"  - symbol: ETH/USDT\n    timeframes:\n    - 1h\n    start: '{day_key(3)}'\n"


def note(url: str) -> str:
    return (
        f"note: no Dagster webserver answers at {url}; reload the code location in the UI or"
        " restart dagster dev to see the change\n"
    )


@pytest.fixture
def path(tmp_path, simulator, monkeypatch):
    """A project whose binance connector is the simulator, with one market."""
    path = write_config(tmp_path, simulator.url, [market()])
    monkeypatch.setenv("MARKETDATA_CONFIG", str(path))
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def asked(simulator) -> int:
    """How often the exchange was asked for its markets."""
    return simulator.stats()["requests_by_path"].get("/api/v3/exchangeInfo", 0)


def test_add_a_market_the_exchange_lists(path, simulator, no_webserver):
    before = path.read_text()
    result = run(
        "markets", "add", "binance", "ETH/USDT", "--timeframes", "1h", "--start", day_key(3)
    )
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{path}: added market binance ETH/USDT\n",
        note(no_webserver),
    )
    assert path.read_text() == before + ETH
    assert asked(simulator) == 1
    assert [s.name for s in load_config(path).series] == [
        "binance/btc_usdt/1m",
        "binance/eth_usdt/1h",
    ]


def test_adding_what_exists_changes_nothing_and_asks_no_one(path, simulator):
    run("markets", "add", "binance", "ETH/USDT", "--timeframes", "1h", "--start", day_key(3))
    written, calls = path.read_bytes(), asked(simulator)
    result = run(
        "markets", "add", "binance", "eth/usdt", "--timeframes", "1h", "--start", day_key(3)
    )
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{path}: market binance ETH/USDT already exists; nothing changed\n",
        "",
    )
    assert path.read_bytes() == written and asked(simulator) == calls


def test_adding_to_a_market_updates_it(path):
    before = path.read_text()
    result = run("markets", "add", "binance", "BTC/USDT", "--timeframes", "1m,5m", "--trades")
    assert result.stdout == f"{path}: updated market binance BTC/USDT: timeframes +5m, trades on\n"
    assert path.read_text() == before.replace("    - 1m\n", "    - 1m\n    - 5m\n") + (
        "    trades: true\n"
    )
    result = run("markets", "add", "binance", "BTC/USDT", "--order-book", "5", "--no-trades")
    assert result.stdout == (
        f"{path}: updated market binance BTC/USDT: trades off, order_book depth 5\n"
    )
    assert path.read_text().endswith("    trades: false\n    order_book: {depth: 5}\n")


def test_a_symbol_the_exchange_does_not_list_is_refused_with_close_matches(path, simulator):
    before = os.stat(path)
    result = run(
        "markets", "add", "binance", "BTC/USDX", "--timeframes", "1h", "--start", day_key(3)
    )
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "error: binance does not list symbol 'BTC/USDX'; close matches: BTC/USDT, ETH/USDT,"
        " BNB/USDT\n",
    )
    assert (os.stat(path).st_ino, os.stat(path).st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert asked(simulator) == 1


def test_an_exchange_that_cannot_be_asked_is_warned_about_and_the_market_written(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    path = write_config(tmp_path, dead, [market()])
    before = path.read_text()
    result = CliRunner(env={"MARKETDATA_CONFIG": str(path)}).invoke(
        main, ["markets", "add", "binance", "ETH/USDT", "--timeframes", "1h", "--start", day_key(3)]
    )
    warning = result.stderr.splitlines()[0]
    assert result.exit_code == 0 and result.stdout == f"{path}: added market binance ETH/USDT\n"
    assert warning.startswith(
        "warning: could not check ETH/USDT with binance (binance load markets: gave up after 1"
        f" attempts: ExchangeNotAvailable: binance GET {dead}/api/v3/exchangeInfo"
    )
    assert warning.endswith("; written unchecked")
    assert path.read_text() == before + ETH


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--timeframes", "2h", "--start", day_key(3)],
            "{path}: exchanges[binance].markets[ETH/USDT].timeframes: unknown timeframe '2h';"
            " allowed: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w",
        ),
        (
            ["--timeframes", "1h", "--start", "2024-02-30"],
            "{path}: exchanges[binance].markets[ETH/USDT].start: invalid date '2024-02-30';"
            " use YYYY-MM-DD",
        ),
        (
            ["--timeframes", "1h"],
            "{path}: binance ETH/USDT is a new market; give --timeframes and --start"
            " (e.g. --timeframes 1m,1h --start 2024-01-01)",
        ),
    ],
    ids=["timeframe", "date", "no-start"],
)
def test_a_rejected_edit_leaves_the_file_byte_identical(path, simulator, args, error):
    before = path.read_bytes()
    result = run("markets", "add", "binance", "ETH/USDT", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"error: {error.format(path=path)}\n",
    )
    assert path.read_bytes() == before
    assert asked(simulator) == 0  # refused before the exchange is asked


def test_a_market_of_an_unconfigured_connector_names_the_fix(path):
    result = run("markets", "add", "okx", "BTC/USDT", "--timeframes", "1h", "--start", day_key(3))
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {path}: no connector 'okx' (configured: binance); add it with"
        " `marketdata connectors add okx`\n",
    )


def test_remove_then_again(path, no_webserver):
    run("markets", "add", "binance", "ETH/USDT", "--timeframes", "1h", "--start", day_key(3))
    with_eth = path.read_text()
    result = run("markets", "remove", "binance", "BTC/USDT")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{path}: removed market binance BTC/USDT (its stored data is kept)\n",
        note(no_webserver),
    )
    btc = with_eth[with_eth.index("  - symbol: BTC/USDT") : with_eth.index(ETH)]
    assert path.read_text() == with_eth.replace(btc, "")
    again = run("markets", "remove", "binance", "BTC/USDT")
    assert (again.exit_code, again.stdout, again.stderr) == (
        0,
        f"{path}: binance has no market BTC/USDT (its markets: ETH/USDT); nothing removed\n",
        "",
    )


def test_disable_and_enable(path, no_webserver):
    before = path.read_text()
    result = run("markets", "disable", "binance", "btc/usdt")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"{path}: disabled market binance BTC/USDT\n",
        note(no_webserver),
    )
    assert path.read_text() == before.replace(
        "  - symbol: BTC/USDT\n", "  - symbol: BTC/USDT\n    enabled: false\n"
    )
    assert load_config(path).series == []
    listed = [line.split() for line in run("markets").stdout.splitlines()]
    assert listed == [
        ["exchange", "symbol", "status", "timeframes", "start", "collects"],
        ["binance", "BTC/USDT", "disabled", "1m", str(today() - timedelta(days=45)), "candles"],
    ]
    assert run("markets", "disable", "binance", "BTC/USDT").stdout == (
        f"{path}: market binance BTC/USDT is already disabled; nothing changed\n"
    )
    assert run("markets", "enable", "binance", "BTC/USDT").stdout == (
        f"{path}: enabled market binance BTC/USDT\n"
    )
    assert [s.name for s in load_config(path).series] == ["binance/btc_usdt/1m"]


def test_enabling_an_unknown_market_names_the_fix(path):
    result = run("markets", "enable", "binance", "DOGE/USDT")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {path}: binance has no market 'DOGE/USDT' (its markets: BTC/USDT); add it with"
        " `marketdata markets add binance DOGE/USDT --timeframes 1m,1h --start YYYY-MM-DD`\n",
    )


def test_concurrent_adds_all_land(path):
    symbols = ["ETH/USDT", "BNB/USDT", "XRP/USDT", "SOL/USDT", "SHIB/USDT"]
    runs = [
        marketdata(
            *("markets", "add", "binance", s, "--timeframes", "1h", "--start", day_key(3)),
            cwd=path.parent,
            wait=False,
        )
        for s in symbols
    ]
    for process in runs:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert out.startswith(f"{path}: added market binance ")
    config = load_config(path)
    assert sorted(m.symbol for m in config.model.exchanges[0].markets) == sorted(
        ["BTC/USDT", *symbols]
    )


def test_the_reloaded_location_is_the_workspace_one():
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["location_name"] == LOCATION


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def asset_keys(url: str) -> list[list[str]]:
    try:
        nodes = graphql(url, "{ assetNodes { assetKey { path } } }")["assetNodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [n["assetKey"]["path"] for n in nodes]


@pytest.mark.slow
def test_a_running_dagster_dev_shows_the_new_market_without_a_restart(tmp_path, simulator):
    write_config(tmp_path, simulator.url, [market()], {"automation": {"running": False}})
    (tmp_path / "workspace.yaml").write_text((ROOT / "workspace.yaml").read_text())
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text(DAGSTER_YAML)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "MARKETDATA_CONFIG": str(tmp_path / "marketdata.yaml"),
    }
    command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml"]
    dev = subprocess.Popen(
        [*command, "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        keys = wait_for(lambda: asset_keys(url), 240, f"dagster dev serving assets at {url}")
        assert ["binance", "btc_usdt", "candles_1m"] in keys
        assert ["binance", "eth_usdt", "candles_1h"] not in keys

        added = marketdata(
            *("markets", "add", "binance", "ETH/USDT", "--timeframes", "1h", "--start", day_key(3)),
            "--dagster-url",
            url,
            cwd=tmp_path,
        )
        assert ["binance", "eth_usdt", "candles_1h"] in asset_keys(url)  # no restart
        assert (added.returncode, added.stderr) == (0, ""), added.stderr
        assert added.stdout.splitlines() == [
            f"{tmp_path / 'marketdata.yaml'}: added market binance ETH/USDT",
            f"reloaded code location {LOCATION} in Dagster at {url}",
        ]
    finally:
        stop_group(dev)
