"""Exchange quirks as data, keyed by ccxt exchange id: no `if exchange == ...` in the code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawKlines:
    """An exchange's own candle endpoint, called through ccxt's implicit API method.

    Its rows carry more than ccxt's unified six columns (quote volume, trade count), and
    reading them in bulk skips ccxt's per-row parsing, the largest cost of a backfill.
    `columns` locates open_time, open, high, low, close, volume, quote_volume, trades.
    """

    method: str
    symbol: str
    interval: str
    since: str
    until: str
    limit: str
    columns: tuple[int, ...]


_BINANCE = RawKlines(
    "publicGetKlines",
    "symbol",
    "interval",
    "startTime",
    "endTime",
    "limit",
    (0, 1, 2, 3, 4, 5, 7, 8),
)
RAW_KLINES = {"binance": _BINANCE, "binanceus": _BINANCE}
