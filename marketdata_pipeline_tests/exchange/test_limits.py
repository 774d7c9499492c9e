"""Budgets from ccxt: any exchange's rate and each endpoint's cost, the config overriding."""

import asyncio

import ccxt.async_support as ccxt_async
import pytest

from marketdata_pipeline.config.models import Connector, RateLimit
from marketdata_pipeline.exchange.limits import budgeted, limits_for


@pytest.mark.parametrize(
    "exchange, weight",
    # 2 s of ccxt's rateLimit (ms per cost unit); Binance's in its own weight (x5): 200 per
    # 2 s is its 6000 a minute.
    [
        ("binance", 200.0),
        ("okx", 2000 / 110),
        ("bybit", 100.0),
        ("kraken", 2.0),
        ("coinbase", 2000 / 34),
    ],
)
def test_the_budget_is_two_seconds_of_ccxts_rate(exchange, weight):
    limits = limits_for(Connector(id=exchange))
    assert (limits.weight, limits.period_seconds, limits.source) == (weight, 2.0, "ccxt")


def test_the_config_overrides_the_budget():
    limits = limits_for(Connector(id="okx", rate_limit=RateLimit(weight=100, period_seconds=2)))
    assert (limits.weight, limits.period_seconds, limits.source) == (100, 2, "config")


def charges(exchange: str, path: str, params: dict) -> list[float]:
    charged: list[float] = []

    async def charge(weight: float) -> None:
        charged.append(weight)

    async def run():
        cls = budgeted(getattr(ccxt_async, exchange), exchange, charge, lambda *_: None)
        client = cls({"enableRateLimit": True})
        try:
            cost = client.calculate_rate_limiter_cost(
                ["public"], "GET", path, params, _config(client, path)
            )
            await client.throttle(cost)
        finally:
            await client.close()

    asyncio.run(run())
    return charged


def _config(client, path: str) -> dict:
    """The endpoint's entry in ccxt's description of the exchange's public REST API."""
    value = client.api["public"]["get"][path]
    return value if isinstance(value, dict) else {"cost": value}


@pytest.mark.parametrize(
    "exchange, path, params, weight",
    [
        ("binance", "klines", {"limit": 1000}, 2.0),  # Binance's own klines weight
        ("binance", "exchangeInfo", {}, 20.0),
        ("binance", "depth", {"limit": 100}, 5.0),
        ("binance", "depth", {"limit": 500}, 25.0),
        ("binance", "depth", {"limit": 1000}, 50.0),
        ("binance", "depth", {"limit": 5000}, 250.0),
        ("binance", "aggTrades", {}, 4.0),  # ccxt says 2: the override table corrects it
        ("okx", "market/candles", {}, 0.5),
        ("okx", "market/history-candles", {}, 1.0),  # the stricter endpoint costs more
    ],
)
def test_each_call_is_charged_its_endpoints_cost(exchange, path, params, weight):
    assert charges(exchange, path, params) == [weight]
