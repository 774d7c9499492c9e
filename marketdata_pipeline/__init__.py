"""marketdata_pipeline: crypto candles from exchanges (ccxt) into ArcticDB, run by Dagster."""

import warnings

from dagster import BetaWarning

# Single-run backfills rely on `backfill_policy`, still marked beta by Dagster.
warnings.filterwarnings("ignore", category=BetaWarning)


def __getattr__(name: str):
    """`from marketdata_pipeline import MarketData`, imported lazily: the simulator and the CLI
    should not pay for the whole pipeline when they do not use it."""
    if name == "MarketData":
        from .access.market_data import MarketData

        return MarketData
    raise AttributeError(name)
