"""Request limits of any ccxt exchange, taken from what ccxt knows about it.

ccxt describes each exchange's limit as `rateLimit` (ms per cost unit) and each endpoint's
`cost` (with `byLimit` steps where the weight grows with the page). The connector's budget is
that rate over a two-second window, and every HTTP call ccxt makes is charged the cost of the endpoint it
actually calls (see `budgeted`), so a connector without a `rate_limit:` section stays within the
exchange's published limits, whatever the exchange. `rate_limit:` in the config overrides the
budget. Exchange quirks stay data: the tables below.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from ..config import Connector, LoadedConfig
from ..coordination import RequestBudget, coordination_for

# Budget units per ccxt cost unit, so a budget reads in the exchange's own weights
# (Binance: ccxt's unit is a fifth of Binance's request weight). Default 1: ccxt's units.
WEIGHT_UNIT = {"binance": 5, "binanceus": 5}

# Endpoints whose ccxt cost lags the exchange's published weight, in ccxt units.
COST_OVERRIDES = {
    "binance": {"aggTrades": 0.8},  # Binance weighs aggTrades 4; ccxt still says 2
    "binanceus": {"aggTrades": 0.8},
}


WINDOW_S = 2.0


@dataclass(frozen=True)
class Limits:
    """A connector's budget (`weight` per `period_seconds`) and where it came from."""

    weight: float
    period_seconds: float
    unit: float
    source: str  # "ccxt" or "config"

    def __str__(self) -> str:
        return f"{self.weight:.4g}/{self.period_seconds:g}s"


@lru_cache(maxsize=64)
def _ccxt_rate_ms(exchange_id: str) -> float:
    """ccxt's `rateLimit` of the exchange, read from its source (importing ccxt costs half a
    second that listing connectors does without), else from ccxt itself."""
    folder = Path(importlib.util.find_spec("ccxt").origin).parent
    path = folder / f"{exchange_id}.py"
    found = re.search(r"'rateLimit': ([0-9.]+)", path.read_text()) if path.exists() else None
    if found:
        return float(found.group(1))
    import ccxt

    return float(getattr(ccxt, exchange_id)().rateLimit)


def limits_for(connector: Connector) -> Limits:
    unit = WEIGHT_UNIT.get(connector.id, 1)
    if connector.rate_limit is not None:
        limit = connector.rate_limit
        return Limits(limit.weight, limit.period_seconds, unit, "config")
    # Two seconds of ccxt's rate: a short window keeps bursts inside per-second limits such as
    # OKX's 20 requests per 2 s, and averages to the same rate per minute.
    return Limits(WINDOW_S * 1000 / _ccxt_rate_ms(connector.id) * unit, WINDOW_S, unit, "ccxt")


def shared_budget(config: LoadedConfig, connector: Connector) -> RequestBudget:
    """The connector's budget as every process shares it (see `coordination`)."""
    limits = limits_for(connector)
    return coordination_for(config).budget(connector.id, limits.weight, limits.period_seconds)


# The HTTP status of the request in flight in this task (ccxt runs one request per task at a
# time), set when its answer arrives; None until then, and after a request that got no answer.
_status: ContextVar[int | None] = ContextVar("http_status", default=None)


def budgeted(
    cls: type,
    exchange_id: str,
    charge: Callable[[float], Awaitable[None]],
    answered: Callable[[str, int | None], None],
) -> type:
    """A subclass of a ccxt exchange class whose every HTTP call first takes its endpoint's
    cost (in budget units) from the shared budget through `charge`, instead of ccxt's own
    per-process throttle, and then reports its endpoint (the URL's path) and HTTP status
    (None: no answer) to `answered`."""
    overrides = COST_OVERRIDES.get(exchange_id, {})
    unit = WEIGHT_UNIT.get(exchange_id, 1)

    class Budgeted(cls):
        async def throttle(self, cost=None):
            await charge((cost if cost is not None else 1) * unit)

        async def fetch(self, url, method="GET", headers=None, body=None):
            token = _status.set(None)
            try:
                return await super().fetch(url, method, headers, body)
            finally:
                answered(urlsplit(url).path, _status.get())
                _status.reset(token)

        def on_rest_response(self, code, *args):
            _status.set(code)
            return super().on_rest_response(code, *args)

        def calculate_rate_limiter_cost(self, api, method, path, params, config={}):  # noqa: B006
            if path in overrides:
                return overrides[path]
            return super().calculate_rate_limiter_cost(api, method, path, params, config)

    Budgeted.__name__ = cls.__name__
    return Budgeted
