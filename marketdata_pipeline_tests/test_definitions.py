"""The whole code location loads from the shipped configs; a snapshot catches accidental renames."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from marketdata_pipeline.config import load_config
from marketdata_pipeline.definitions import build_definitions

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", ["marketdata.yaml", "marketdata.demo.yaml"])
def test_shipped_configs_load_as_valid_definitions(name):
    defs = build_definitions(load_config(ROOT / name))
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_all_asset_specs()


def test_asset_keys_partitions_and_pools_snapshot():
    defs = build_definitions(load_config(ROOT / "marketdata.yaml"))
    assets = {a.key.to_user_string(): a for a in defs.resolve_all_asset_specs()}
    assert sorted(assets) == [
        *(
            f"binance/{market}/{kind}_{tf}"
            for market in ("btc_usdt", "eth_usdt")
            for kind in ("candles", "indicators")
            for tf in ("1d", "1h", "1m")
        ),
        "market_summary",
    ]
    assert assets["market_summary"].group_name == "analytics"
    assert {d.asset_key.to_user_string() for d in assets["market_summary"].deps} == {
        k for k in assets if "/candles_" in k
    }
    indicators = defs.resolve_assets_def(dg.AssetKey(["binance", "btc_usdt", "indicators_1m"]))
    assert (
        indicators.partitions_def
        == defs.resolve_assets_def(
            dg.AssetKey(["binance", "btc_usdt", "candles_1m"])
        ).partitions_def
    )
    assert (
        assets["binance/btc_usdt/indicators_1m"].automation_condition.get_label()
        == "follow upstream"
    )
    minute = defs.resolve_assets_def(dg.AssetKey(["binance", "btc_usdt", "candles_1m"]))
    assert minute.backfill_policy == dg.BackfillPolicy.single_run()
    assert minute.partitions_def.get_first_partition_key() == "2024-01-01"
    assert minute.partitions_def.cron_schedule == "0 0 1 * *"  # a month of 1m
    assert (
        defs.resolve_assets_def(
            dg.AssetKey(["binance", "btc_usdt", "candles_1h"])
        ).partitions_def.cron_schedule
        == "0 0 1 1 *"
    )
    assert (
        defs.resolve_assets_def(
            dg.AssetKey(["binance", "btc_usdt", "candles_1d"])
        ).partitions_def.cron_schedule
        == "0 0 1 1 *"
    )
    spec = assets["binance/btc_usdt/candles_1m"]
    assert spec.group_name == "binance" and spec.kinds == {"ccxt", "arcticdb"}
    assert spec.description == "Closed 1m OHLCV candles of BTC/USDT on binance."
    assert minute.op.pool == "binance"


@pytest.mark.parametrize(
    ("name", "loads"), [("marketdata.demo.yaml", True), ("missing.yaml", False)]
)
def test_code_location_module_loads_config_from_the_environment(monkeypatch, tmp_path, name, loads):
    """What `dagster dev` does with workspace.yaml: import the module, build its lazy defs."""
    monkeypatch.setenv("MARKETDATA_CONFIG", str(ROOT / name))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "marketdata_pipeline.definitions",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (run.returncode == 0) == loads, run.stderr
