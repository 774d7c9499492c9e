"""Binance ``/api/v3/klines`` paging semantics and the exact wire format of a page.

Selection mirrors the exchange: with ``startTime`` the first ``limit`` candles opening at or
after it; otherwise the last ``limit`` candles opening at or before ``endTime`` (default: now,
which includes the in-progress candle). Empty candles (maintenance) are skipped, not padded.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from marketdata_pipeline.simulator.aggregate import Gaps, interval_candles
from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.decimals import decimal_parts, interleave
from marketdata_pipeline.simulator.intervals import Interval
from marketdata_pipeline.simulator.symbols import MarketSpec


def select_klines(
    spec: MarketSpec,
    interval: Interval,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
    now_ms: int,
    gaps: Gaps = (),
) -> Candles:
    """The candles Binance would return for these request parameters at ``now_ms``."""
    first = int(interval.floor(spec.listing_ms))
    last = int(interval.floor(now_ms))
    if end_ms is not None:
        last = min(last, int(interval.floor(end_ms)))
    if spec.delisting_ms is not None:  # nothing to scan after the market's last candle
        last = min(last, int(interval.floor(spec.delisting_ms - 1)))
    if start_ms is not None:
        first = max(first, interval.ceil(start_ms))
        return _scan_forward(spec, interval, first, last, limit, now_ms, gaps)
    return _scan_backward(spec, interval, first, last, limit, now_ms, gaps)


def _scan_forward(
    spec: MarketSpec, interval: Interval, first: int, last: int, limit: int, now_ms: int, gaps: Gaps
) -> Candles:
    parts: list[Candles] = []
    found, cursor = 0, first
    while found < limit and cursor <= last:
        opens = interval.opens_from(cursor, limit)
        batch_last = int(opens[opens <= last][-1])
        parts.append(interval_candles(spec, interval, cursor, batch_last, now_ms, gaps))
        found += len(parts[-1])
        cursor = interval.next_open(batch_last)
    return Candles.concat(parts).select(slice(0, limit))


def _scan_backward(
    spec: MarketSpec, interval: Interval, first: int, last: int, limit: int, now_ms: int, gaps: Gaps
) -> Candles:
    parts: list[Candles] = []
    found, cursor = 0, last
    while found < limit and cursor >= first:
        opens = interval.opens_until(cursor, limit)
        batch_first = int(opens[opens >= first][0])
        parts.insert(0, interval_candles(spec, interval, batch_first, cursor, now_ms, gaps))
        found += len(parts[0])
        cursor = int(interval.opens_until(batch_first, 2)[0])
    page = Candles.concat(parts)
    return page.select(slice(max(len(page) - limit, 0), None))


_ROW = (
    '[%d,"%d.%08d","%d.%08d","%d.%08d","%d.%08d","%d.%08d",%d,"%d.%08d",%d,"%d.%08d","%d.%08d","0"]'
)


def format_rows(spec: MarketSpec, interval: Interval, candles: Candles) -> list[str]:
    """One JSON array text per candle, exactly like Binance (decimal strings with 8 places).

    Prices are ``ticks / 10**decimals``, volumes multiples of 2**-8 and quote volumes whole
    multiples of 1e-8 (``levels.py``), so the strings are exact; prices and volumes also parse
    back to exactly the floats computed here.
    """
    if not len(candles):
        return []
    price, volume, quote = 10**spec.price_decimals, round(1 / spec.volume_quantum), spec.quote_units
    rows = interleave(
        candles.time,
        *(decimal_parts(column, price) for column in (candles.open, candles.high, candles.low)),
        decimal_parts(candles.close, price),
        decimal_parts(candles.volume, volume),
        interval.next_opens(candles.time) - 1,
        decimal_parts(candles.quote_volume, quote),
        candles.trades,
        decimal_parts(candles.taker_base, volume),
        decimal_parts(candles.taker_quote, quote),
    )
    return [_ROW % tuple(row) for row in rows]


def swap_high_low(candles: Candles, windows: tuple[tuple[int, int], ...]) -> Candles:
    """Serve the candles opening in `windows` with high and low swapped: broken exchange data."""
    if not windows or not len(candles):
        return candles
    bad = np.zeros(len(candles), dtype=bool)
    for start, end in windows:
        bad |= (candles.time >= start) & (candles.time < end)
    high, low = np.where(bad, candles.low, candles.high), np.where(bad, candles.high, candles.low)
    return replace(candles, high=high, low=low)
