"""OKX bar names and their alignment.

Bars under 6 hours are aligned to the Unix epoch. From 6 hours up OKX has two families: the
``utc`` ones open at UTC midnight (ccxt asks for these by default) and the plain ones at Hong
Kong midnight, 16:00 UTC the day before. Weeks open on Monday. ``1s`` (minute candles are the
model's grain), 2- to 5-day bars, Hong Kong months and quarters are not simulated.
"""

from __future__ import annotations

from marketdata_pipeline.simulator.intervals import DAY_MS, HOUR_MS, INTERVALS, Interval

_HONG_KONG_MS = 8 * HOUR_MS


def _hong_kong(name: str, width_ms: int, utc_offset_ms: int = 0) -> Interval:
    """A bar opening at Hong Kong's midnight (a day, a week) or at its 6- and 12-hour marks."""
    return Interval(name, width_ms, (utc_offset_ms - _HONG_KONG_MS) % width_ms)


BARS: dict[str, Interval] = {
    "1m": INTERVALS["1m"],
    "3m": INTERVALS["3m"],
    "5m": INTERVALS["5m"],
    "15m": INTERVALS["15m"],
    "30m": INTERVALS["30m"],
    "1H": INTERVALS["1h"],
    "2H": INTERVALS["2h"],
    "4H": INTERVALS["4h"],
    "6Hutc": INTERVALS["6h"],
    "12Hutc": INTERVALS["12h"],
    "1Dutc": INTERVALS["1d"],
    "1Wutc": INTERVALS["1w"],
    "1Mutc": INTERVALS["1M"],
    "6H": _hong_kong("6H", 6 * HOUR_MS),
    "12H": _hong_kong("12H", 12 * HOUR_MS),
    "1D": _hong_kong("1D", DAY_MS),
    "1W": _hong_kong("1W", 7 * DAY_MS, INTERVALS["1w"].offset_ms),
}
"""Bar name -> interval. UTC bars reuse Binance's intervals, so stats name them alike (1h)."""
