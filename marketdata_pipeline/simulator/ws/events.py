"""Binance's market stream events as JSON text, built from the same numbers the REST side serves.

Trades reuse the REST rows' decimal formatting and klines the REST rows themselves, so a
streamed trade or closed kline is equal, string for string, to what REST returns for it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from marketdata_pipeline.simulator.book import Book
from marketdata_pipeline.simulator.decimals import decimal_parts, interleave
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trades import Trades

_TRADE = '{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%d.%08d","q":"%d.%08d","T":%d,"m":%s,"M":true}'
_AGG = (
    '{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%d.%08d","q":"%d.%08d","f":%d,"l":%d,'
    '"T":%d,"m":%s,"M":true}'
)
_LEVEL = '["%d.%08d","%d.%08d"]'
_KLINE_KEYS = ("t", "o", "h", "l", "c", "v", "T", "q", "n", "V", "Q", "B")
"""The REST kline row's fields, in order, under their stream names."""
_TICKER = {
    "p": "priceChange",
    "P": "priceChangePercent",
    "w": "weightedAvgPrice",
    "x": "prevClosePrice",
    "c": "lastPrice",
    "Q": "lastQty",
    "b": "bidPrice",
    "B": "bidQty",
    "a": "askPrice",
    "A": "askQty",
    "o": "openPrice",
    "h": "highPrice",
    "l": "lowPrice",
    "v": "volume",
    "q": "quoteVolume",
    "O": "openTime",
    "C": "closeTime",
    "F": "firstId",
    "L": "lastId",
    "n": "count",
}
_MINI_TICKER = ("c", "o", "h", "l", "v", "q")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _flags(maker: np.ndarray) -> list[str]:
    return np.where(maker, "true", "false").tolist()


def trade_events(spec: MarketSpec, trades: Trades, event_ms: int, agg: bool) -> list[str]:
    """``trade`` (raw trades) or ``aggTrade`` events, one per trade, in id order."""
    if not len(trades):
        return []
    price, volume = 10**spec.price_decimals, round(1 / spec.volume_quantum)
    prices, quantities = decimal_parts(trades.price, price), decimal_parts(trades.qty, volume)
    if agg:
        rows = interleave(trades.id, prices, quantities, trades.first, trades.last, trades.time)
        template = _AGG
    else:
        rows = interleave(trades.id, prices, quantities, trades.time)
        template = _TRADE
    head = (event_ms, spec.market_id)
    flags = _flags(trades.maker)
    return [template % (*head, *row, flag) for row, flag in zip(rows, flags, strict=True)]


def kline_event(
    spec: MarketSpec, interval: str, row: str, first_id: int, last_id: int, closed: bool, now: int
) -> str:
    """A ``kline`` event from a REST kline row (JSON text), with its trade ids and closed flag."""
    k: dict[str, Any] = dict(zip(_KLINE_KEYS, json.loads(row), strict=True))
    k = {"t": k["t"], "T": k["T"], "s": spec.market_id, "i": interval, "f": first_id,
         "L": last_id, **{key: k[key] for key in ("o", "c", "h", "l", "v", "n")},
         "x": closed, **{key: k[key] for key in ("q", "V", "Q", "B")}}  # fmt: skip
    return dumps({"e": "kline", "E": now, "s": spec.market_id, "k": k})


def _levels(spec: MarketSpec, prices: np.ndarray, amounts: np.ndarray) -> str:
    price, volume = 10**spec.price_decimals, round(1 / spec.volume_quantum)
    rows = interleave(decimal_parts(prices, price), decimal_parts(amounts, volume))
    return "[" + ",".join(_LEVEL % tuple(row) for row in rows) + "]"


def _side_diff(
    old: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray]
) -> dict[int, int]:
    """{price: amount} of ``new``'s levels absent from or different in ``old``, and 0 for
    ``old``'s levels that ``new`` lacks."""
    order = np.argsort(old[0], kind="stable")
    old_price, old_qty = old[0][order], old[1][order]
    new_price, new_qty = new
    at = np.minimum(np.searchsorted(old_price, new_price), max(len(old_price) - 1, 0))
    same = (old_price[at] == new_price) & (old_qty[at] == new_qty) if len(old_price) else at < 0
    gone = old_price[~np.isin(old_price, new_price)]
    changed = dict(zip(new_price[~same].tolist(), new_qty[~same].tolist(), strict=True))
    return {**dict.fromkeys(gone.tolist(), 0), **changed}


def depth_event(spec: MarketSpec, first: int, book: Book, olds: list[Book], now: int) -> str:
    """A ``depthUpdate`` from update id ``first`` to ``book.update_id``: every level that
    differs between ``book`` and any of ``olds`` (books a client may hold), absolute amounts."""
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for old in olds:
        bids.update(_side_diff((old.bid_price, old.bid_qty), (book.bid_price, book.bid_qty)))
        asks.update(_side_diff((old.ask_price, old.ask_qty), (book.ask_price, book.ask_qty)))

    def side(levels: dict[int, int], descending: bool) -> str:
        prices = sorted(levels, reverse=descending)
        amounts = [levels[p] for p in prices]
        return _levels(spec, np.array(prices, dtype=np.int64), np.array(amounts, dtype=np.int64))

    return (
        f'{{"e":"depthUpdate","E":{now},"s":"{spec.market_id}","U":{first},'
        f'"u":{book.update_id},"b":{side(bids, True)},"a":{side(asks, False)}}}'
    )


def ticker_event(full: dict[str, Any], now: int, mini: bool) -> dict[str, Any]:
    """A ``24hrTicker`` (or ``24hrMiniTicker``) event from a REST ticker/24hr object."""
    keys = _MINI_TICKER if mini else tuple(_TICKER)
    event = {"e": "24hrMiniTicker" if mini else "24hrTicker", "E": now, "s": full["symbol"]}
    return {**event, **{key: full[_TICKER[key]] for key in keys}}
