"""A local exchange simulator speaking Binance's public spot REST API.

Real exchanges are unreachable in tests and benchmarks, so the unmodified ccxt ``binance``
class is pointed at this server via ``ccxt_config(url)``. Candles are deterministic, faults
are switchable, and statistics show how a client behaved.
"""

from marketdata_pipeline.simulator.ccxt_config import ccxt_config, config_snippet
from marketdata_pipeline.simulator.faults import Faults
from marketdata_pipeline.simulator.simulator import Simulator
from marketdata_pipeline.simulator.symbols import DEFAULT_SYMBOLS

__all__ = ["DEFAULT_SYMBOLS", "Faults", "Simulator", "ccxt_config", "config_snippet"]
