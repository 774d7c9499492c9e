"""How clients reach the simulator: a ccxt ``binance`` config and a YAML connector snippet."""

from __future__ import annotations

import json
from typing import Any

import yaml

# Every ``urls.api`` key of ccxt's binance class, so no call can leak to the real exchange;
# the simulator only implements the public spot ones ("public" -> /api/v3).
_API_PATHS = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "sapi": "/sapi/v1",
    "sapiV2": "/sapi/v2",
    "sapiV3": "/sapi/v3",
    "sapiV4": "/sapi/v4",
    "dapiPublic": "/dapi/v1",
    "dapiPrivate": "/dapi/v1",
    "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/futures/data",
    "eapiPublic": "/eapi/v1",
    "eapiPrivate": "/eapi/v1",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "papi": "/papi/v1",
    "papiV2": "/papi/v2",
}

_OPTIONS = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "adjustForTimeDifference": False,
}


def ccxt_config(url: str) -> dict[str, Any]:
    """Config for ``ccxt.binance(...)`` / ``ccxt.async_support.binance(...)``.

    ``urls.api`` redirects every endpoint family to ``url``; ``options`` restrict
    ``load_markets`` to the spot ``exchangeInfo`` call and switch off the currency, margin and
    clock-sync requests that would otherwise hit sapi endpoints the simulator does not serve.
    """
    base = url.rstrip("/")
    return {
        "urls": {"api": {key: base + path for key, path in _API_PATHS.items()}},
        "options": json.loads(json.dumps(_OPTIONS)),
    }


def config_snippet(url: str) -> str:
    """A `marketdata.yaml` whose binance connector talks to the simulator."""
    connector = {
        "id": "binance",
        "ccxt": ccxt_config(url),
        "markets": [{"symbol": "BTC/USDT", "timeframes": ["1m", "1h"], "start": "2024-01-01"}],
    }
    header = f"# Connector for the local Binance simulator at {url}\n"
    return header + yaml.safe_dump({"exchanges": [connector]}, sort_keys=False)
