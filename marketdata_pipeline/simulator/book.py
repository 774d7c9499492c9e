"""The order book: a pure function of (market, update id) that agrees with the trades.

An exchange keeps no history of its book, yet a test must know exactly which book a client was
served. So the update id of a time is a pure function of that time, and the book a pure
function of its update id:

- ``lastUpdateId = 16 * (aggTrades executed so far) + refreshes``, a refresh being each whole
  second since the last aggTrade (at most 15). It never decreases, stays equal while the book
  is unchanged, and names its last aggTrade: ``lastUpdateId // 16 - 1``.
- That aggTrade sets the top. A taker buy at p took asks, so the best ask is p (or p + 1 tick
  when it used the level up) and the best bid 1 to 4 ticks below; a taker sell mirrors that.
  Every trade thus lies between the best bid and ask that follow it.
- Deeper orders rest at absolute prices: a tick holds a level with probability ``density``
  (5000 levels span about 2% of the market's base price; coarse ticks are all filled), and
  each tick redraws its presence and amount once every 4096 update ids at its own phase, so
  the book drifts as the price moves through it instead of reshuffling on every update.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from marketdata_pipeline.simulator import errors
from marketdata_pipeline.simulator.decimals import decimal_parts, interleave
from marketdata_pipeline.simulator.errors import BinanceError
from marketdata_pipeline.simulator.intervals import MINUTE_MS
from marketdata_pipeline.simulator.noise import Channel, bits, fields, splitmix64
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trade_ids import AGG, minute_of
from marketdata_pipeline.simulator.trades import Trades, agg_trades

UPDATES_PER_AGG = 16
REFRESH_MS = 1_000
DEFAULT_DEPTH, MAX_DEPTH = 100, 5_000
_PERIOD = 4_096  # update ids between two redraws of one price level
_SPAN = 0.02  # share of the base price that MAX_DEPTH sparse levels cover
_LEVEL_SHARE = 0.02  # mean amount of a level, as a share of a minute's mean volume
_AMOUNT_SPREAD = 3.0
_LEVEL = '["%d.%08d","%d.%08d"]'
_AMOUNT_MEAN = np.sinh(_AMOUNT_SPREAD / 2) / (_AMOUNT_SPREAD / 2)  # mean of exp(3 (u - 1/2))


@dataclass(frozen=True)
class Book:
    """Prices in ticks (bids descending, asks ascending), amounts in volume quanta."""

    update_id: int
    bid_price: np.ndarray
    bid_qty: np.ndarray
    ask_price: np.ndarray
    ask_qty: np.ndarray

    def to_ccxt(self, spec: MarketSpec) -> dict[str, Any]:
        """``nonce``, ``bids`` and ``asks`` exactly as ccxt's ``fetch_order_book`` parses them."""
        price, volume = 10**spec.price_decimals, round(1 / spec.volume_quantum)

        def side(prices: np.ndarray, amounts: np.ndarray) -> list[list[float]]:
            return [
                [p / price, q / volume]
                for p, q in zip(prices.tolist(), amounts.tolist(), strict=True)
            ]

        return {
            "nonce": self.update_id,
            "bids": side(self.bid_price, self.bid_qty),
            "asks": side(self.ask_price, self.ask_qty),
        }


@lru_cache(maxsize=64)
def _minute_aggs(spec: MarketSpec, minute: int) -> Trades:
    return agg_trades(spec, minute, minute + 1)


def _anchor_at(spec: MarketSpec, now_ms: int) -> tuple[int, int, bool]:
    """(update id, last aggTrade's price in ticks, whether it was a taker sell) at ``now_ms``."""
    minute = now_ms // MINUTE_MS
    if minute < spec.listing_ms // MINUTE_MS:
        return 0, 0, False
    aggs = _minute_aggs(spec, minute)
    last = int(np.searchsorted(aggs.time, now_ms, side="right")) - 1  # the :00.000 trade exists
    refreshes = min(UPDATES_PER_AGG - 1, (now_ms - int(aggs.time[last])) // REFRESH_MS)
    update_id = (int(aggs.id[last]) + 1) * UPDATES_PER_AGG + refreshes
    return update_id, int(aggs.price[last]), bool(aggs.maker[last])


def update_id_at(spec: MarketSpec, now_ms: int) -> int:
    """The ``lastUpdateId`` served at ``now_ms`` (0 before listing)."""
    return _anchor_at(spec, now_ms)[0]


def book_at_time(spec: MarketSpec, now_ms: int, limit: int = MAX_DEPTH) -> Book:
    """The book served at ``now_ms``, ``limit`` levels deep per side."""
    return _build(spec, *_anchor_at(spec, now_ms), limit)


def book_at(
    spec: MarketSpec, update_id: int, limit: int = MAX_DEPTH, now_ms: int | None = None
) -> Book:
    """The book answered with ``lastUpdateId == update_id``; ``now_ms`` (default: the wall
    clock) bounds the search for its aggTrade, and an id not yet served by then is an error."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if update_id > update_id_at(spec, now_ms):
        raise ValueError(f"{spec.symbol}: update id {update_id} is not served by {now_ms}")
    agg_id = update_id // UPDATES_PER_AGG - 1
    if agg_id < 0:
        return _build(spec, update_id, 0, False, limit)
    minute = minute_of(spec, AGG, agg_id, now_ms // MINUTE_MS)
    assert minute is not None  # the id is served by now_ms, so its aggTrade exists
    aggs = _minute_aggs(spec, minute)
    index = agg_id - int(aggs.id[0])
    return _build(spec, update_id, int(aggs.price[index]), bool(aggs.maker[index]), limit)


def _density(spec: MarketSpec) -> float:
    return min(1.0, MAX_DEPTH / (_SPAN * spec.base_price / spec.tick))


def _amounts(spec: MarketSpec, u: np.ndarray) -> np.ndarray:
    """Whole volume quanta, at least one, log-uniform around the level mean."""
    mean = spec.base_volume * _LEVEL_SHARE / spec.volume_quantum / _AMOUNT_MEAN
    return np.maximum(np.rint(mean * np.exp(_AMOUNT_SPREAD * (u - 0.5))), 1).astype(np.int64)


def _draws(spec: MarketSpec, ticks: np.ndarray, update_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(presence, amount) uniforms of price levels, redrawn at each level's own epochs."""
    phase = (bits(spec.seed, Channel.BOOK_PHASE, ticks) % np.uint64(_PERIOD)).astype(np.int64)
    epoch = ((update_id + phase) // _PERIOD).astype(np.uint64)
    mixed = splitmix64(bits(spec.seed, Channel.BOOK_LEVEL, ticks) ^ splitmix64(epoch))
    low = np.uint64(0xFFFF_FFFF)
    return (mixed >> np.uint64(32)) * 2.0**-32, (mixed & low) * 2.0**-32


def _side(
    spec: MarketSpec, update_id: int, best: int, step: int, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """``best`` and the levels after it in direction ``step`` (never below one tick)."""
    density = _density(spec)
    prices, amounts = [np.array([best], dtype=np.int64)], [np.zeros(1, dtype=np.int64)]
    need, start = limit - 1, best + step
    chunk = int(need / density * 1.2) + 64
    while need > 0 and start >= 1:
        ticks = start + step * np.arange(chunk, dtype=np.int64)
        ticks = ticks[ticks >= 1]
        present, amount = _draws(spec, ticks, update_id)
        keep = np.flatnonzero(present < density)[:need]
        prices.append(ticks[keep])
        amounts.append(_amounts(spec, amount[keep]))
        need -= len(keep)
        start = int(ticks[-1]) + step
    return np.concatenate(prices), np.concatenate(amounts)


def _build(spec: MarketSpec, update_id: int, price: int, taker_sell: bool, limit: int) -> Book:
    """The book after an aggTrade at ``price`` (no trade yet: empty)."""
    if price == 0:
        empty = np.empty(0, dtype=np.int64)
        return Book(update_id, empty, empty, empty, empty)
    top = fields(bits(spec.seed, Channel.BOOK_TOP, np.array([update_id])), 4, 16)[:, 0]
    spread = 1 + int(4.0 * (top[0] / 65_536.0) ** 2)
    used_up = int(top[1] & 1)
    if taker_sell:
        bid = max(price - used_up, 1)
        ask = bid + spread
    else:
        bid = max(price + used_up - spread, 1)
        ask = max(price + used_up, bid + 1)
    bid_price, bid_qty = _side(spec, update_id, bid, -1, limit)
    ask_price, ask_qty = _side(spec, update_id, ask, 1, limit)
    bid_qty[0], ask_qty[0] = _amounts(spec, top[2:] / 65_536.0)
    return Book(update_id, bid_price, bid_qty, ask_price, ask_qty)


def depth_limit(query: Mapping[str, str]) -> int:
    """``limit``: 100 by default; above 5000 Binance returns 5000 levels."""
    limit = errors.int_param(query, "limit")
    if limit is not None and limit < 1:
        raise errors.invalid_limit()
    return min(DEFAULT_DEPTH if limit is None else limit, MAX_DEPTH)


def depth_weight(query: Mapping[str, str]) -> int:
    """Binance's weight by the levels served: 5 up to 100, 25 to 500, 50 to 1000, else 250."""
    try:
        limit = depth_limit(query)
    except BinanceError:
        limit = DEFAULT_DEPTH
    return next(
        w for most, w in ((100, 5), (500, 25), (1_000, 50), (MAX_DEPTH, 250)) if limit <= most
    )


def depth_body(spec: MarketSpec, limit: int, now_ms: int) -> str:
    """``GET /api/v3/depth``: exact decimal strings, like the klines."""
    book = book_at_time(spec, now_ms, limit)
    price, volume = 10**spec.price_decimals, round(1 / spec.volume_quantum)

    def side(prices: np.ndarray, amounts: np.ndarray) -> str:
        rows = interleave(decimal_parts(prices, price), decimal_parts(amounts, volume))
        return ",".join(_LEVEL % tuple(row) for row in rows)

    bids, asks = side(book.bid_price, book.bid_qty), side(book.ask_price, book.ask_qty)
    return f'{{"lastUpdateId":{book.update_id},"bids":[{bids}],"asks":[{asks}]}}'
