"""A local exchange simulator speaking Binance's public spot REST API, or OKX v5's.

Real exchanges are unreachable in tests and benchmarks, so the unmodified ccxt ``binance``
(or ``okx``) class is pointed at this server via ``ccxt_config(url[, "okx"])``. Candles are
deterministic and the same in both protocols, faults are switchable, and statistics show how
a client behaved. Speaking Binance, it also serves the WebSocket market streams that
``ccxt.pro.binance(ccxt_config(url))`` watches (``ws/``), on a clock that can run fast
(``Simulator(speed=20)``).
"""

from marketdata_pipeline.simulator.ccxt_config import ccxt_config, config_snippet
from marketdata_pipeline.simulator.faults import Faults
from marketdata_pipeline.simulator.simulator import Simulator
from marketdata_pipeline.simulator.symbols import DEFAULT_SYMBOLS

__all__ = ["DEFAULT_SYMBOLS", "Faults", "Simulator", "ccxt_config", "config_snippet"]
