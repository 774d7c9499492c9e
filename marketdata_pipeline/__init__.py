"""marketdata_pipeline: crypto candles from exchanges (ccxt) into ArcticDB, run by Dagster.

Importing it imports neither Dagster nor ccxt: reading stored data needs neither, and the
read-only commands start several times faster without them.
"""


def __getattr__(name: str):
    """`from marketdata_pipeline import MarketData`, imported lazily: the simulator and the CLI
    should not pay for the whole pipeline when they do not use it."""
    if name == "MarketData":
        from .access.market_data import MarketData

        return MarketData
    raise AttributeError(name)
