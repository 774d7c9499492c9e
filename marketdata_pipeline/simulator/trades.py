"""Individual trades, materialized from a minute's buckets only when a trade endpoint asks.

Each bucket (taker side x price level, ``levels.py``) is split into its aggTrades, each
aggTrade into its raw trades, with positive whole quantity units drawn from counter-based noise,
so any minute range gives the same trades whenever it is asked for. Within a minute the first
aggTrade is on the open level at the minute's first millisecond, the last on the close level;
timestamps never decrease with the id and raw trades share their aggTrade's price, time, side.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.intervals import MINUTE_MS
from marketdata_pipeline.simulator.levels import BUCKETS, CLOSE, LEVELS, OPEN, Levels
from marketdata_pipeline.simulator.market import minute_levels
from marketdata_pipeline.simulator.noise import Channel, random_shares, uniform
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trade_ids import first_ids

_INDEX_BITS = 20  # noise index = minute << 20 | position in the minute (< 2**20 aggTrades)


@dataclass(frozen=True)
class Trades:
    """Struct of equally long arrays, ordered by id. For raw trades ``first == last == id``.

    ``price`` is in ticks, ``qty`` in volume quanta, ``unit`` the quanta per quantity unit of
    the price level, ``maker`` True when the buyer was the maker (a taker sell).
    """

    id: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    unit: np.ndarray
    first: np.ndarray
    last: np.ndarray
    time: np.ndarray
    maker: np.ndarray

    def __len__(self) -> int:
        return len(self.id)

    def select(self, index: np.ndarray | slice) -> Trades:
        return Trades(*(getattr(self, f.name)[index] for f in fields(self)))

    @classmethod
    def concat(cls, parts: list[Trades]) -> Trades:
        parts = [p for p in parts if len(p)]
        if len(parts) == 1:
            return parts[0]
        columns = [f.name for f in fields(cls)]
        if not parts:
            return cls(*(np.empty(0, dtype=bool if n == "maker" else np.int64) for n in columns))
        return cls(*(np.concatenate([getattr(p, n) for p in parts]) for n in columns))


def split_groups(extra: np.ndarray, counts: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Split each group's ``extra`` over its ``counts`` items (consecutive, counts >= 1) in
    proportion to the items' integer ``shares``; exact integers >= 0 summing to ``extra``."""
    group = np.repeat(np.arange(len(counts)), counts)
    ends = np.cumsum(counts) - 1
    starts = ends - counts + 1
    cumulative = np.cumsum(shares)
    local = cumulative - (cumulative[starts] - shares[starts])[group]
    bounds = extra[group] * local // local[ends][group]
    parts = np.diff(bounds, prepend=0)
    parts[ends[:-1] + 1] = bounds[ends[:-1] + 1]
    return parts


def agg_counts(levels: Levels) -> np.ndarray:
    """(BUCKETS, minutes) aggTrades per bucket: at least one, at most its trades, summing to
    the minute's aggTrade count. Floors of a common share, the rest where there is room."""
    room = levels.trades.reshape(BUCKETS, -1) - 1.0
    share = (levels.agg - BUCKETS) / np.maximum(levels.raw - BUCKETS, 1)
    base = np.floor(room * share)
    room -= base
    deficit = (levels.agg - BUCKETS) - base.sum(axis=0)
    take = np.clip(deficit - (np.cumsum(room, axis=0) - room), 0.0, room)
    return (1.0 + base + take).astype(np.int64)


def agg_trades(spec: MarketSpec, start_minute: int, end_minute: int) -> Trades:
    """Every aggTrade of minutes ``[start_minute, end_minute)``, all at or after listing."""
    levels = minute_levels(spec, start_minute, end_minute)
    n = end_minute - start_minute
    # Per minute, bucket by bucket: bucket = side * LEVELS + level.
    aggs = agg_counts(levels).T.ravel()
    trades = levels.trades.reshape(BUCKETS, n).T.ravel().astype(np.int64)
    units = levels.units.reshape(BUCKETS, n).T.ravel().astype(np.int64)
    minute_first = np.cumsum(levels.agg) - levels.agg
    group = np.repeat(np.arange(n * BUCKETS), aggs)
    minute = group // BUCKETS
    bucket = group % BUCKETS
    index = (start_minute + minute) << _INDEX_BITS
    index += np.arange(len(group)) - minute_first[minute]

    raw_count = 1 + split_groups(
        trades - aggs, aggs, random_shares(spec.seed, Channel.AGG_TRADES, index)
    )
    unit_count = raw_count + split_groups(
        units - trades, aggs, random_shares(spec.seed, Channel.AGG_UNITS, index)
    )
    # Order inside each minute: random, except the first aggTrade of the opening bucket leads
    # and the first one of the closing bucket ends the minute.
    key = uniform(spec.seed, Channel.AGG_ORDER, index)
    group_first = np.cumsum(aggs) - aggs
    minutes = np.arange(n) * BUCKETS
    key[group_first[minutes + levels.opening * LEVELS + OPEN]] = -1.0
    key[group_first[minutes + levels.closing * LEVELS + CLOSE]] = 2.0
    order = np.lexsort((key, minute))
    minute, bucket = minute[order], bucket[order]
    raw_count, unit_count = raw_count[order], unit_count[order]

    minute_ms = (start_minute + minute) * MINUTE_MS
    offsets = (uniform(spec.seed, Channel.AGG_TIME, index) * MINUTE_MS).astype(np.int64)
    time = np.sort(minute_ms + offsets)
    time[minute_first] = minute_ms[minute_first]
    first_raw, first_agg = first_ids(spec, start_minute)
    first = first_raw + np.cumsum(raw_count) - raw_count
    level = bucket % LEVELS
    unit = levels.unit[level, minute]
    return Trades(
        id=first_agg + np.arange(len(minute)),
        price=levels.price[level, minute],
        qty=unit_count * unit,
        unit=unit,
        first=first,
        last=first + raw_count - 1,
        time=time,
        maker=bucket >= LEVELS,
    )


def raw_trades(spec: MarketSpec, aggs: Trades) -> Trades:
    """The raw trades of whole aggTrades: same price, time and side, quantities split."""
    counts = aggs.last - aggs.first + 1
    owner = np.repeat(np.arange(len(aggs)), counts)
    ids = aggs.first[owner] + np.arange(len(owner)) - (np.cumsum(counts) - counts)[owner]
    units = aggs.qty // aggs.unit
    shares = random_shares(spec.seed, Channel.RAW_UNITS, ids)
    unit = aggs.unit[owner]
    qty = (1 + split_groups(units - counts, counts, shares)) * unit
    return Trades(ids, aggs.price[owner], qty, unit, ids, ids, aggs.time[owner], aggs.maker[owner])


def to_candles(trades: Trades) -> Candles:
    """1-minute candles of these (id-ordered) trades, exactly as the kline endpoint sums them."""
    if not len(trades):
        return Candles.empty()
    minute = trades.time // MINUTE_MS
    starts = np.flatnonzero(np.diff(minute, prepend=-1))
    ends = np.append(starts[1:], len(minute)) - 1
    quote = trades.price * trades.qty
    taker = ~trades.maker
    return Candles(
        time=minute[starts] * MINUTE_MS,
        open=trades.price[starts],
        high=np.maximum.reduceat(trades.price, starts),
        low=np.minimum.reduceat(trades.price, starts),
        close=trades.price[ends],
        volume=np.add.reduceat(trades.qty, starts),
        quote_volume=np.add.reduceat(quote, starts),
        trades=np.add.reduceat(trades.last - trades.first + 1, starts),
        taker_base=np.add.reduceat(trades.qty * taker, starts),
        taker_quote=np.add.reduceat(quote * taker, starts),
    )


def minute_so_far(spec: MarketSpec, minute: int, now_ms: int) -> Candles:
    """The in-progress minute's candle: its trades up to ``now_ms`` (the open trade is at :00)."""
    trades = agg_trades(spec, minute, minute + 1)
    return to_candles(trades.select(trades.time <= now_ms))
