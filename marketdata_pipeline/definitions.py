"""The code location: assembles assets and resources from the YAML config; holds no logic."""

from __future__ import annotations

import warnings

import dagster as dg

from .analytics.market_summary import market_summary_asset
from .automation.schedules import build_schedules
from .automation.sensors import automation_sensor, freshness_sensor
from .automation.streams import stream_check
from .books.assets import polled_assets
from .candles.assets import candle_asset
from .config import LoadedConfig, load_config
from .exchange.resource import exchange_resources
from .indicators.assets import indicator_asset
from .storage.io_manager import IO_MANAGER_KEY, ArcticIOManager
from .storage.resource import store_resource
from .storage.store import STORE_KEY
from .trades.assets import trades_asset
from .trades.candle_assets import trade_candle_asset

# Single-run backfills rely on `backfill_policy`, still marked beta by Dagster.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions(config: LoadedConfig) -> dg.Definitions:
    config.check_schedules()
    store = store_resource(config)
    resources = {
        STORE_KEY: store,
        IO_MANAGER_KEY: ArcticIOManager(store=store),
        **exchange_resources(config),
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
    assets += [trade_candle_asset(s, config.trades_of(s)) for s in config.series if s.from_trades]
    assets += [trades_asset(t) for t in config.trade_series]
    assets += [a for s in config.polled_series for a in polled_assets(s)]
    summary = market_summary_asset(config)
    checks = [stream_check(config, s) for s in config.all_series if config.streamed(s)]
    return dg.Definitions(
        assets=[*assets, *([summary] if summary else [])],
        asset_checks=checks,
        resources=resources,
        schedules=build_schedules(config),
        sensors=[freshness_sensor(config), automation_sensor(config)],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_config())
