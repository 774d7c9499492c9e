"""Which stored series holds a market's trades, order book or ticker, or the fix if none does.

Those are collected only for markets that ask for them in the config, so reading one of another
market is a user mistake, answered with the setting that would collect it.
"""

from __future__ import annotations

from ..config import ConfigError, LoadedConfig, Series

# Per `Series.data`: what a reader asked for, the market's setting that collects it, and what
# then stores it.
COLLECTED = {
    "trades": ("trades", "`trades: true`", "sync"),
    "order_book": (
        "order book",
        "`order_book: {depth: 20, every_seconds: 10}`",
        "run `marketdata stream`",
    ),
    "ticker": ("ticker", "`ticker: true`", "run `marketdata stream`"),
}


class NotCollected(ConfigError):
    """A configured market that does not collect the data asked for."""


def market_series(config: LoadedConfig, exchange: str, symbol: str, data: str) -> Series:
    """The `data` ("trades", "order_book", "ticker") of a configured market (symbol in any
    case); ConfigError if no market matches, NotCollected naming the fix if it collects none."""
    market = config.select(exchange, symbol)[0]
    for s in [*config.trade_series, *config.polled_series]:
        if (s.exchange, s.symbol, s.data) == (market.exchange, market.symbol, data):
            return s
    what, setting, then = COLLECTED[data]
    raise NotCollected(
        f"{market.exchange} {market.symbol} collects no {what}; set {setting} on"
        f" exchanges[{market.exchange}].markets[{market.symbol}] in {config.path}, then {then}"
    )


def trade_candle_series(config: LoadedConfig, exchange: str, symbol: str, timeframe: str) -> Series:
    """The candle series whose candles built from trades are asked for (stored under its name)."""
    series = config.select(exchange, symbol, timeframe)[0]
    market_series(config, exchange, symbol, "trades")
    return series
