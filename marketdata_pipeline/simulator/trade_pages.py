"""Which trades a Binance trade endpoint returns for its parameters at ``now_ms``.

Only executed trades are visible: at or after listing, at or before ``now_ms`` (the current
minute's trades so far) and outside maintenance gaps, minute by minute exactly as klines hide
them. Ids are never renumbered, so a gap shows up as a hole in the ids that stays the same on
every request, which is how a client recognizes a gap the exchange confirms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from marketdata_pipeline.simulator.aggregate import Gaps
from marketdata_pipeline.simulator.intervals import MINUTE_MS
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trade_ids import AGG, RAW, minute_of
from marketdata_pipeline.simulator.trades import Trades, agg_trades, raw_trades

Keep = Callable[[Trades], np.ndarray]


def _hidden(minute: int, gaps: Gaps) -> tuple[int, int] | None:
    """The minutes ``[first, end)`` of the gap hiding ``minute``, if any."""
    for start, end in gaps:
        first, after = -(-start // MINUTE_MS), -(-end // MINUTE_MS)
        if first <= minute < after:
            return first, after
    return None


def _runs(first: int, last: int, gaps: Gaps, batch: int, backward: bool) -> Iterator[range]:
    """Visible minutes of ``[first, last]`` in runs of at most ``batch``, walking either way."""
    cursor = last if backward else first
    while first <= cursor <= last:
        gap = _hidden(cursor, gaps)
        if gap is not None:
            cursor = gap[0] - 1 if backward else gap[1]
            continue
        stop = cursor - batch if backward else cursor + batch
        for probe in range(cursor, stop, -1 if backward else 1):
            if not first <= probe <= last or _hidden(probe, gaps):
                stop = probe
                break
        yield range(stop + 1, cursor + 1) if backward else range(cursor, stop)
        cursor = stop


def _materialize(spec: MarketSpec, kind: int, minutes: range) -> Trades:
    aggs = agg_trades(spec, minutes.start, minutes.stop)
    return raw_trades(spec, aggs) if kind == RAW else aggs


def _batch(spec: MarketSpec, kind: int, limit: int) -> int:
    """Minutes that hold about ``limit`` trades of this kind on average."""
    per_minute = spec.trades_per_minute * (0.7 if kind == AGG else 1.0)
    return max(1, -(-limit // int(per_minute)) + 1)


def _forward(
    spec: MarketSpec,
    kind: int,
    first_minute: int,
    last_ms: int,
    keep: Keep,
    limit: int,
    gaps: Gaps,
) -> Trades:
    """The first ``limit`` visible trades from ``first_minute`` on that ``keep`` accepts."""
    first_minute = max(first_minute, spec.listing_ms // MINUTE_MS)
    parts: list[Trades] = []
    found = 0
    for minutes in _runs(
        first_minute, last_ms // MINUTE_MS, gaps, _batch(spec, kind, limit), False
    ):
        trades = _materialize(spec, kind, minutes)
        parts.append(trades.select(keep(trades) & (trades.time <= last_ms)))
        found += len(parts[-1])
        if found >= limit:
            break
    return Trades.concat(parts).select(slice(0, limit))


def _latest(spec: MarketSpec, kind: int, now_ms: int, limit: int, gaps: Gaps) -> Trades:
    """The last ``limit`` visible trades at ``now_ms``."""
    parts: list[Trades] = []
    found = 0
    listing = spec.listing_ms // MINUTE_MS
    for minutes in _runs(listing, now_ms // MINUTE_MS, gaps, _batch(spec, kind, limit), True):
        trades = _materialize(spec, kind, minutes)
        parts.insert(0, trades.select(trades.time <= now_ms))
        found += len(parts[0])
        if found >= limit:
            break
    page = Trades.concat(parts)
    return page.select(slice(max(len(page) - limit, 0), None))


def _from_id(
    spec: MarketSpec, kind: int, from_id: int, limit: int, now_ms: int, gaps: Gaps
) -> Trades:
    minute = minute_of(spec, kind, from_id, now_ms // MINUTE_MS)
    if minute is None:
        return Trades.concat([])
    return _forward(spec, kind, minute, now_ms, lambda t: t.id >= from_id, limit, gaps)


def select_agg_trades(
    spec: MarketSpec,
    from_id: int | None,
    window: tuple[int, int] | None,
    limit: int,
    now_ms: int,
    gaps: Gaps = (),
) -> Trades:
    """``/api/v3/aggTrades``: from an id (inclusive), the oldest in a time window
    (``[start, end]``, inclusive), or else the most recent ``limit``."""
    if from_id is not None:
        return _from_id(spec, AGG, from_id, limit, now_ms, gaps)
    if window is not None:
        start, end = window

        def in_window(trades: Trades) -> np.ndarray:
            return trades.time >= start

        return _forward(spec, AGG, start // MINUTE_MS, min(end, now_ms), in_window, limit, gaps)
    return _latest(spec, AGG, now_ms, limit, gaps)


def select_raw_trades(
    spec: MarketSpec, from_id: int | None, limit: int, now_ms: int, gaps: Gaps = ()
) -> Trades:
    """``/api/v3/historicalTrades`` from a raw trade id (inclusive); ``/api/v3/trades`` and
    ``historicalTrades`` without ``fromId`` return the most recent ``limit``."""
    if from_id is not None:
        return _from_id(spec, RAW, from_id, limit, now_ms, gaps)
    return _latest(spec, RAW, now_ms, limit, gaps)
