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


@dataclass(frozen=True)
class TradeIds:
    """An exchange that pages trades by id: a time probe finds a range's first id, then pages
    of ids follow, concurrently. Paging by time alone can drop trades where one millisecond
    holds more than a page (ccxt's own warning on Binance); ids cannot.

    `fields` maps our trade columns to the exchange's; `buyer_maker` is true when the taker
    sold. `contiguous` says every id exists, so a hole is an error to refetch, not data.
    """

    method: str
    symbol: str
    from_id: str
    start: str
    end: str
    limit: str
    page: int
    window_ms: int  # longest start..end span one time query may ask for
    fields: dict[str, str]
    buyer_maker: str
    contiguous: bool


_BINANCE_AGG = TradeIds(
    "publicGetAggTrades",
    "symbol",
    "fromId",
    "startTime",
    "endTime",
    "limit",
    1000,
    3_600_000,
    {
        "id": "a",
        "timestamp": "T",
        "price": "p",
        "amount": "q",
        "first_trade_id": "f",
        "last_trade_id": "l",
    },
    "m",
    True,
)
RAW_TRADES = {"binance": _BINANCE_AGG, "binanceus": _BINANCE_AGG}

# Exchanges whose candle endpoint serves only their latest N candles of a timeframe, however far
# back one asks (Kraken's OHLC: 720): older history cannot be backfilled from them.
RECENT_CANDLES_ONLY = {"kraken": 720}

# Parameters of ccxt.pro's watch methods, so a stream carries what REST stores: Binance's
# aggregated trades (the ids the trades series is keyed on) and full tickers (with bid and ask).
_BINANCE_WATCH = {"trades": {"name": "aggTrade"}, "tickers": {"name": "ticker"}}
WATCH_PARAMS = {"binance": _BINANCE_WATCH, "binanceus": _BINANCE_WATCH}


@dataclass(frozen=True)
class StreamKlines:
    """An exchange's kline message, read beside ccxt's parse for the columns ccxt drops
    (quote volume, trade count), so a streamed candle equals the REST one (`RAW_KLINES`)."""

    event_key: str
    event: str
    body: str
    symbol: str
    interval: str
    open_time: str
    extras: dict[str, str]  # stored column -> field of the body


_BINANCE_KLINE = StreamKlines(
    "e", "kline", "k", "s", "i", "t", {"quote_volume": "q", "trades": "n"}
)
STREAM_KLINES = {"binance": _BINANCE_KLINE, "binanceus": _BINANCE_KLINE}

# WebSocket connection attempts an exchange allows per IP: (attempts, per seconds).
CONNECTION_LIMITS = {"binance": (300, 300.0), "binanceus": (300, 300.0)}
DEFAULT_CONNECTION_LIMIT = (60, 60.0)
