"""Binance's trade endpoints on the wire: their parameters, errors and exact JSON rows.

``aggTrades`` takes ``fromId`` (inclusive) or a time window of at most one hour (only
``startTime`` or only ``endTime`` means the hour after or before it), never both; ``trades``
returns the most recent trades; ``historicalTrades`` pages raw trades by ``fromId``. Limits
default to 500 and are capped at 1000, as Binance's spot API does.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from marketdata_pipeline.simulator import errors
from marketdata_pipeline.simulator.aggregate import Gaps
from marketdata_pipeline.simulator.decimals import decimal_parts, interleave
from marketdata_pipeline.simulator.intervals import HOUR_MS
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trade_pages import select_agg_trades, select_raw_trades
from marketdata_pipeline.simulator.trades import Trades

WEIGHTS = {"/api/v3/aggTrades": 4, "/api/v3/trades": 25, "/api/v3/historicalTrades": 25}
"""Binance's request weights (spot API, 2024-04 onwards)."""

_AGG_ROW = '{"a":%d,"p":"%d.%08d","q":"%d.%08d","f":%d,"l":%d,"T":%d,"m":%s,"M":true}'
_RAW_ROW = (
    '{"id":%d,"price":"%d.%08d","qty":"%d.%08d","quoteQty":"%d.%08d","time":%d,'
    '"isBuyerMaker":%s,"isBestMatch":true}'
)

Page = tuple[list[str], int]
"""The JSON rows of a page and the limit they were selected with."""


def _flags(maker: np.ndarray) -> list[str]:
    return np.where(maker, "true", "false").tolist()


def agg_rows(spec: MarketSpec, trades: Trades) -> list[str]:
    price, volume = 10**spec.price_decimals, round(1 / spec.volume_quantum)
    rows = interleave(
        trades.id,
        decimal_parts(trades.price, price),
        decimal_parts(trades.qty, volume),
        trades.first,
        trades.last,
        trades.time,
    )
    return [_AGG_ROW % (*row, flag) for row, flag in zip(rows, _flags(trades.maker), strict=True)]


def raw_rows(spec: MarketSpec, trades: Trades) -> list[str]:
    price, volume = 10**spec.price_decimals, round(1 / spec.volume_quantum)
    rows = interleave(
        trades.id,
        decimal_parts(trades.price, price),
        decimal_parts(trades.qty, volume),
        decimal_parts(trades.price * trades.qty, spec.quote_units),
        trades.time,
    )
    return [_RAW_ROW % (*row, flag) for row, flag in zip(rows, _flags(trades.maker), strict=True)]


def agg_trades_page(spec: MarketSpec, query: Mapping[str, str], now_ms: int, gaps: Gaps) -> Page:
    """``GET /api/v3/aggTrades``."""
    from_id = errors.int_param(query, "fromId", signed=False)
    start, end = errors.int_param(query, "startTime"), errors.int_param(query, "endTime")
    limit = errors.page_limit(query)
    window = None
    if start is not None or end is not None:
        if from_id is not None:
            raise errors.bad_combination()
        start = end - HOUR_MS if start is None else start
        end = start + HOUR_MS if end is None else end
        if end - start > HOUR_MS:
            raise errors.window_too_long()
        window = (start, end)
    trades = select_agg_trades(spec, from_id, window, limit, now_ms, gaps)
    return agg_rows(spec, trades), limit


def recent_trades_page(spec: MarketSpec, query: Mapping[str, str], now_ms: int, gaps: Gaps) -> Page:
    """``GET /api/v3/trades``."""
    limit = errors.page_limit(query)
    return raw_rows(spec, select_raw_trades(spec, None, limit, now_ms, gaps)), limit


def historical_trades_page(
    spec: MarketSpec, query: Mapping[str, str], now_ms: int, gaps: Gaps
) -> Page:
    """``GET /api/v3/historicalTrades``."""
    from_id = errors.int_param(query, "fromId", signed=False)
    limit = errors.page_limit(query)
    return raw_rows(spec, select_raw_trades(spec, from_id, limit, now_ms, gaps)), limit
