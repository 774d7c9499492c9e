"""Binance ``/api/v3/klines`` paging semantics and the exact wire format of a page.

Selection mirrors the exchange: with ``startTime`` the first ``limit`` candles opening at or
after it; otherwise the last ``limit`` candles opening at or before ``endTime`` (default: now,
which includes the in-progress candle). Empty candles (maintenance) are skipped, not padded.
"""

from __future__ import annotations

from marketdata_pipeline.simulator.aggregate import Gaps, interval_candles
from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.intervals import Interval
from marketdata_pipeline.simulator.symbols import MarketSpec

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


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


def format_rows(spec: MarketSpec, interval: Interval, candles: Candles) -> list[str]:
    """One JSON array text per candle, exactly like Binance (decimal strings with 8 places).

    Prices are ``ticks / 10**decimals`` and volumes multiples of 2**-8, so "%.8f" is exact
    and a client parsing the strings gets back precisely the floats computed here.
    """
    if not len(candles):
        return []
    scale = 10.0**spec.price_decimals
    columns = zip(
        candles.time.tolist(),
        (candles.open / scale).tolist(),
        (candles.high / scale).tolist(),
        (candles.low / scale).tolist(),
        (candles.close / scale).tolist(),
        (candles.volume * spec.volume_quantum).tolist(),
        (interval.next_opens(candles.time) - 1).tolist(),
        (candles.quote_volume * spec.quote_quantum).tolist(),
        candles.trades.tolist(),
        (candles.taker_base * spec.volume_quantum).tolist(),
        (candles.taker_quote * spec.quote_quantum).tolist(),
        strict=True,
    )
    return [
        f'[{t},"{o:.8f}","{h:.8f}","{lo:.8f}","{c:.8f}","{v:.8f}",{ct},"{qv:.8f}",{n},'
        f'"{tb:.8f}","{tq:.8f}","0"]'
        for t, o, h, lo, c, v, ct, qv, n, tb, tq in columns
    ]
