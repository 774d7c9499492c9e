"""The simulated spot markets: listing times, price levels and trading precision."""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marketdata_pipeline.simulator.intervals import MINUTE_MS

VOLUME_QUANTUM = 2.0**-8
"""Volumes are multiples of 2**-8: exact in float64 *and* in 8 decimals, so sums never round."""

DEFAULT_TRADES_PER_MINUTE = 600
"""Mean raw trades per minute (the klines' trade count); aggTrades are about 70% of them."""
MIN_TRADES_PER_MINUTE, MAX_TRADES_PER_MINUTE = 12, 100_000
"""A minute has trades on 6 price levels x 2 sides; the top keeps int64 sums far from overflow."""


@dataclass(frozen=True)
class MarketSpec:
    """Everything the candle generator needs to know about one market (hashable, for caching)."""

    symbol: str
    listing_ms: int
    base_price: float
    price_decimals: int
    volume_quantum: float
    base_volume: float
    seed: int
    trades_per_minute: int = DEFAULT_TRADES_PER_MINUTE
    delisting_ms: int | None = None  # no candles from here on, and the market is not trading

    def trading(self, now_ms: int) -> bool:
        return self.delisting_ms is None or now_ms < self.delisting_ms

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]

    @property
    def market_id(self) -> str:
        return self.base + self.quote

    @property
    def tick(self) -> float:
        return 10.0**-self.price_decimals

    @property
    def quote_units(self) -> int:
        """Quote amounts are integers in units of ``tick * volume_quantum``: this many make 1.0.

        Then price (ticks) times quantity (quanta) is exact, and sums of trades equal candles.
        """
        return round(10**self.price_decimals / self.volume_quantum)

    @property
    def quote_step(self) -> int:
        """Smallest quote amount (in ``quote_units``) that is a whole number of 1e-8.

        A trade's quantity is a multiple of ``quote_step // gcd(quote_step, price)`` quanta, so
        every quote amount prints exactly with Binance's 8 decimals.
        """
        return self.quote_units // math.gcd(self.quote_units, 10**8)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


DEFAULT_SYMBOLS: dict[str, dict[str, Any]] = {
    "BTC/USDT": {"listing": "2017-08-17T04:00", "price": 60_000.0, "volume": 20.0},
    "ETH/USDT": {"listing": "2017-08-17T04:00", "price": 3_000.0, "volume": 300.0},
    "BNB/USDT": {"listing": "2017-11-06T03:00", "price": 500.0, "volume": 600.0},
    "XRP/USDT": {"listing": "2018-05-04T08:00", "price": 0.6, "price_decimals": 4, "volume": 3e5},
    "SOL/USDT": {"listing": "2020-08-11T06:00", "price": 150.0, "volume": 3_000.0},
    "SHIB/USDT": {"listing": "2021-05-10T11:00", "price": 0.00002, "volume": 2.0e9},
}
"""Unified symbol -> listing (ISO UTC, datetime or ms), central price, per-minute base volume.

Optional ``price_decimals`` sets the tick size (default: about five significant digits), and
``delisting`` (like ``listing``) ends the market: no candles from then on, status ``BREAK``.
"""


def _decimals_for(price: float) -> int:
    """Tick size giving roughly five significant digits, like Binance's PRICE_FILTER."""
    for decimals in range(2, 9):
        if price * 10**decimals >= 10_000:
            return decimals
    return 8


def _when_ms(value: str | datetime | int) -> int:
    if isinstance(value, datetime):
        return int(value.replace(tzinfo=value.tzinfo or UTC).timestamp() * 1000)
    return _ms(value) if isinstance(value, str) else int(value)


def make_spec(
    symbol: str, info: Mapping[str, Any], trades_per_minute: int = DEFAULT_TRADES_PER_MINUTE
) -> MarketSpec:
    """Build a spec from a loose mapping: ``listing`` and ``delisting`` (ISO text, datetime or
    ms), ``price``, ``volume``."""
    listing_ms = _when_ms(info.get("listing", "2020-01-01T00:00"))
    delisting = info.get("delisting")
    price = float(info.get("price", 100.0))
    decimals = int(info.get("price_decimals", _decimals_for(price)))
    if not 0 <= decimals <= 8:
        raise ValueError(f"{symbol}: price_decimals must be within [0, 8], like Binance's ticks")
    volume = float(info.get("volume", 1_000.0))
    # Keep a month of summed quantum units far below 2**53 so float sums stay exact.
    quantum = VOLUME_QUANTUM if volume < 1e7 else 1.0
    return MarketSpec(
        symbol=symbol,
        listing_ms=-(-listing_ms // MINUTE_MS) * MINUTE_MS,
        base_price=price,
        price_decimals=decimals,
        volume_quantum=quantum,
        base_volume=volume,
        seed=zlib.crc32(symbol.encode()),
        trades_per_minute=trades_per_minute,
        delisting_ms=None
        if delisting is None
        else -(-_when_ms(delisting) // MINUTE_MS) * MINUTE_MS,
    )


def make_specs(
    symbols: Mapping[str, Mapping[str, Any]] | None = None,
    trades_per_minute: int = DEFAULT_TRADES_PER_MINUTE,
) -> dict[str, MarketSpec]:
    """Specs keyed by Binance market id ("BTCUSDT")."""
    if not MIN_TRADES_PER_MINUTE <= trades_per_minute <= MAX_TRADES_PER_MINUTE:
        raise ValueError(
            f"trades_per_minute must be within [{MIN_TRADES_PER_MINUTE}, "
            f"{MAX_TRADES_PER_MINUTE}]: every minute has 12 trade buckets"
        )
    items = (symbols or DEFAULT_SYMBOLS).items()
    specs = [make_spec(sym, info, trades_per_minute) for sym, info in items]
    return {spec.market_id: spec for spec in specs}
