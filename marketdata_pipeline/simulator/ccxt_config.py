"""How clients reach the simulator: ccxt ``binance`` and ``okx`` configs, YAML connector snippets."""

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

# Every ``urls.api.ws`` key of ccxt.pro's binance; only spot's market streams are served.
_WS_PATHS = {
    "spot": "/ws",
    "margin": "/ws",
    "linear": "/ws",
    "inverse": "/ws",
    "stock": "/equity/ws",
    "option": "/public/ws",
    "optionMarket": "/market/ws",
    "optionPrivate": "/private/ws",
    "papi": "/pm/ws",
}
_WS_API_PATHS = {"spot": "/ws-api/v3", "linear": "/ws-fapi/v1", "inverse": "/ws-dapi/v1"}

_OPTIONS = {
    "binance": {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "adjustForTimeDifference": False,
    },
    "okx": {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "adjustForTimeDifference": False,
    },
}


def ccxt_config(url: str, exchange: str = "binance") -> dict[str, Any]:
    """Config for ``ccxt.<exchange>(...)`` / ``ccxt.async_support.<exchange>(...)``.

    ``urls`` redirect every endpoint family to ``url``: Binance's many API roots, OKX's single
    ``rest`` host (live and sandbox alike). ``options`` restrict ``load_markets`` to spot
    markets (one ``exchangeInfo`` call, or one ``public/instruments?instType=SPOT``) and switch
    off the currency, margin and clock-sync requests that would hit endpoints the simulator
    does not serve. ccxt's okx asks for currencies only with credentials, so it needs no switch.

    For Binance, ``urls.api.ws`` point ccxt.pro's streams at ``ws://`` on the same host and
    port, so ``ccxt.pro.binance(ccxt_config(url))`` watches the simulator; the plain ccxt
    classes ignore them.
    """
    if exchange not in _OPTIONS:
        raise ValueError(f"exchange {exchange!r} is not simulated; use one of {sorted(_OPTIONS)}")
    base = url.rstrip("/")
    if exchange == "okx":
        urls: dict[str, Any] = {"api": {"rest": base}, "test": {"rest": base}}
    else:
        ws = "ws" + base.removeprefix("http")
        urls = {"api": {key: base + path for key, path in _API_PATHS.items()}}
        urls["api"]["ws"] = {key: ws + path for key, path in _WS_PATHS.items()}
        urls["api"]["ws"]["ws-api"] = {key: ws + path for key, path in _WS_API_PATHS.items()}
    return {"urls": urls, "options": json.loads(json.dumps(_OPTIONS[exchange]))}


def config_snippet(url: str, exchange: str = "binance") -> str:
    """A `marketdata.yaml` whose connector talks to the simulator speaking ``exchange``."""
    connector = {
        "id": exchange,
        "ccxt": ccxt_config(url, exchange),
        "markets": [{"symbol": "BTC/USDT", "timeframes": ["1m", "1h"], "start": "2024-01-01"}],
    }
    header = f"# Connector for the local {exchange} simulator at {url}\n"
    return header + yaml.safe_dump({"exchanges": [connector]}, sort_keys=False)
