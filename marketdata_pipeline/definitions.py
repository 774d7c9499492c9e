"""The code location: assembles assets and resources from the YAML config; holds no logic."""

from __future__ import annotations

import dagster as dg

from .candles import IO_MANAGER_KEY, STORE_KEY, candle_asset, exchange_resource_key
from .config import LoadedConfig, load_config
from .exchange import ExchangeResource
from .indicator_assets import indicator_asset
from .io_manager import ArcticIOManager
from .market_summary import market_summary_asset
from .schedules import build_schedules
from .sensors import freshness_sensor
from .store import CandleStore


def candle_store(config: LoadedConfig) -> CandleStore:
    return CandleStore(uri=config.storage_uri, lock_dir=str(config.data_dir / "locks"))


def build_definitions(config: LoadedConfig) -> dg.Definitions:
    data = config.data_dir
    store = candle_store(config)
    resources = {
        STORE_KEY: store,
        IO_MANAGER_KEY: ArcticIOManager(store=store),
        **{
            exchange_resource_key(c.id): ExchangeResource(
                connector=c.model_dump(mode="json"), budget_path=str(data / "budgets.sqlite")
            )
            for c in config.connectors
        },
    }
    model = config.model
    assets = [
        asset
        for s in config.series
        for asset in (
            candle_asset(s, config.peers(s), model.quality, model.freshness),
            indicator_asset(s),
        )
    ]
    summary = market_summary_asset(config)
    return dg.Definitions(
        assets=[*assets, *([summary] if summary else [])],
        resources=resources,
        schedules=build_schedules(config),
        sensors=[freshness_sensor(config), automation_sensor(config)],
    )


def automation_sensor(config: LoadedConfig) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the indicators' "follow candles" condition; Dagster's default one starts off."""
    running = config.model.automation.running
    return dg.AutomationConditionSensorDefinition(
        "follow_candles",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING
        if running
        else dg.DefaultSensorStatus.STOPPED,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_config())
