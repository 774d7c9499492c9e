"""OKX candle pages: which candles ``market/candles`` and ``market/history-candles`` return,
and their rows.

A page holds the newest ``limit`` candles opening after ``before`` and before ``after`` (both
exclusive, both optional), newest first. ``market/candles`` serves only the latest 1,440
bars, the in-progress one included (``confirm`` "0"); ``market/history-candles`` serves
every completed bar since listing and never the in-progress one. Empty bars (maintenance)
are skipped, as on the Binance protocol, and the candles are the same ones.
"""

from __future__ import annotations

from marketdata_pipeline.simulator.aggregate import Gaps
from marketdata_pipeline.simulator.candles import Candles
from marketdata_pipeline.simulator.decimals import decimal_parts, interleave
from marketdata_pipeline.simulator.intervals import Interval
from marketdata_pipeline.simulator.klines import select_klines
from marketdata_pipeline.simulator.symbols import MarketSpec

RECENT_BARS = 1_440
"""Bars ``market/candles`` reaches back, counting the in-progress one."""
MAX_LIMIT, DEFAULT_LIMIT = 300, 100
"""Page size of both candle endpoints (OKX's docs: "The maximum is 300. The default is 100")."""


def select_page(
    spec: MarketSpec,
    interval: Interval,
    after: int | None,
    before: int | None,
    limit: int,
    now_ms: int,
    gaps: Gaps = (),
    history: bool = False,
) -> Candles:
    """The page's candles, oldest first (``format_rows`` turns them around)."""
    current = int(interval.floor(now_ms))
    newest = current - 1 if history else current
    if after is not None:
        newest = min(newest, after - 1)
    oldest = int(interval.floor(spec.listing_ms))
    if not history:
        oldest = max(oldest, int(interval.opens_until(current, RECENT_BARS)[0]))
    if before is not None:
        oldest = max(oldest, before + 1)
    if newest < oldest:
        return Candles.empty()
    candles = select_klines(spec, interval, None, newest, limit, now_ms, gaps)
    return candles.select(candles.time >= oldest)


def _decimal(whole: int, fraction: int) -> str:
    """OKX's decimal strings carry no trailing zeros: "60123.4", "2"."""
    return f"{whole}.{fraction:08d}".rstrip("0").rstrip(".")


def format_rows(spec: MarketSpec, interval: Interval, candles: Candles, now_ms: int) -> list[str]:
    """Rows ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``, newest first.

    For spot ``vol`` is the base volume and both ``volCcy`` and ``volCcyQuote`` the quote
    volume; ``confirm`` is "0" for the in-progress candle and "1" once it has closed. Every
    value is an exact decimal of the model's integer units, so ccxt reads the same floats as
    from the Binance protocol.
    """
    if not len(candles):
        return []
    price, volume = 10**spec.price_decimals, round(1 / spec.volume_quantum)
    table = interleave(
        candles.time,
        *(decimal_parts(column, price) for column in (candles.open, candles.high, candles.low)),
        decimal_parts(candles.close, price),
        decimal_parts(candles.volume, volume),
        decimal_parts(candles.quote_volume, spec.quote_units),
    )
    current = int(interval.floor(now_ms))
    rows = []
    for row in reversed(table):
        values = [_decimal(row[i], row[i + 1]) for i in range(1, 13, 2)]
        quote = values[5]
        confirm = "0" if row[0] == current else "1"
        rows.append(
            f'["{row[0]}","{values[0]}","{values[1]}","{values[2]}","{values[3]}",'
            f'"{values[4]}","{quote}","{quote}","{confirm}"]'
        )
    return rows
