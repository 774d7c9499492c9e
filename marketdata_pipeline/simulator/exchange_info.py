"""The ``/api/v3/exchangeInfo`` document, shaped like Binance's so ccxt parses it unmodified."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marketdata_pipeline.simulator.symbols import MarketSpec

_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]
_STP_MODES = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"]


def _decimal(value: float) -> str:
    return f"{value:.8f}"


def lot_step(price: float) -> float:
    """Coarser quantity steps for cheaper coins, as on Binance (BTC 0.00001, SHIB 1)."""
    for min_price, step in ((1_000.0, 1e-5), (10.0, 1e-3), (0.1, 0.1)):
        if price >= min_price:
            return step
    return 1.0


def symbol_entry(spec: MarketSpec, now_ms: int) -> dict[str, Any]:
    """One element of ``symbols``: status (``BREAK`` once delisted, which ccxt reads as not
    active), precisions, permissions and trading filters."""
    step = lot_step(spec.base_price)
    return {
        "symbol": spec.market_id,
        "status": "TRADING" if spec.trading(now_ms) else "BREAK",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": _ORDER_TYPES,
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _decimal(spec.tick),
                "maxPrice": _decimal(spec.base_price * 100),
                "tickSize": _decimal(spec.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _decimal(step),
                "maxQty": _decimal(9_000_000_000 * step),
                "stepSize": _decimal(step),
            },
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": _decimal(spec.base_volume * 1_000),
                "stepSize": "0.00000000",
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": 10,
                "maxTrailingAboveDelta": 2000,
                "minTrailingBelowDelta": 10,
                "maxTrailingBelowDelta": 2000,
            },
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": "5",
                "bidMultiplierDown": "0.2",
                "askMultiplierUp": "5",
                "askMultiplierDown": "0.2",
                "avgPriceMins": 5,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": _STP_MODES,
    }


def exchange_info(
    specs: Iterable[MarketSpec], server_time: int, weight_limit: int
) -> dict[str, Any]:
    """Full document for the given markets (already filtered by ``symbol``/``symbols``)."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": weight_limit,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200_000},
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61_000,
            },
        ],
        "exchangeFilters": [],
        "symbols": [symbol_entry(spec, server_time) for spec in specs],
    }
