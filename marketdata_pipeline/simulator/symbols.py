"""The simulated spot markets: listing times, price levels and trading precision."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marketdata_pipeline.simulator.intervals import MINUTE_MS

VOLUME_QUANTUM = 2.0**-8
"""Volumes are multiples of 2**-8: exact in float64 *and* in 8 decimals, so sums never round."""


@dataclass(frozen=True)
class MarketSpec:
    """Everything the candle generator needs to know about one market (hashable, for caching)."""

    symbol: str
    listing_ms: int
    base_price: float
    price_decimals: int
    volume_quantum: float
    quote_quantum: float
    base_volume: float
    seed: int
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


def make_spec(symbol: str, info: Mapping[str, Any]) -> MarketSpec:
    """Build a spec from a loose mapping: ``listing`` and ``delisting`` (ISO text, datetime or
    ms), ``price``, ``volume``."""
    listing_ms = _when_ms(info.get("listing", "2020-01-01T00:00"))
    delisting = info.get("delisting")
    price = float(info.get("price", 100.0))
    decimals = int(info.get("price_decimals", _decimals_for(price)))
    volume = float(info.get("volume", 1_000.0))
    # Keep a month of summed quantum units far below 2**53 so float sums stay exact.
    quantum = VOLUME_QUANTUM if volume < 1e7 else 1.0
    quote_quantum = VOLUME_QUANTUM if volume * price < 1e7 else 1.0
    return MarketSpec(
        symbol=symbol,
        listing_ms=-(-listing_ms // MINUTE_MS) * MINUTE_MS,
        base_price=price,
        price_decimals=decimals,
        volume_quantum=quantum,
        quote_quantum=quote_quantum,
        base_volume=volume,
        seed=zlib.crc32(symbol.encode()),
        delisting_ms=None
        if delisting is None
        else -(-_when_ms(delisting) // MINUTE_MS) * MINUTE_MS,
    )


def make_specs(symbols: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, MarketSpec]:
    """Specs keyed by Binance market id ("BTCUSDT")."""
    specs = [make_spec(sym, info) for sym, info in (symbols or DEFAULT_SYMBOLS).items()]
    return {spec.market_id: spec for spec in specs}
