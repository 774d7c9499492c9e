"""Binance stream names (``btcusdt@aggTrade``, ``btcusdt@depth@100ms``, ``!ticker@arr``) and
the feed each one names."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from marketdata_pipeline.simulator.intervals import INTERVALS
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.ws.feeds import DepthFeed, Feed, KlineFeed, TickerFeed, TradeFeed

Snapshots = Callable[[str], list[int]]
"""REST depth snapshot ids recently served for a market id."""


class UnknownStream(ValueError):
    """A stream name the simulator does not serve."""


def make_feed(name: str, specs: Mapping[str, MarketSpec], now: int, snapshots: Snapshots) -> Feed:
    """The feed of stream ``name`` starting at ``now``; ``UnknownStream`` names the problem."""
    if name in ("!ticker@arr", "!miniTicker@arr"):
        return TickerFeed(list(specs.values()), name.startswith("!mini"), array=True)
    symbol, sep, kind = name.partition("@")
    spec = specs.get(symbol.upper())
    if not sep or spec is None:
        raise UnknownStream(f"unknown stream {name!r}: no market {symbol!r}")
    if kind in ("trade", "aggTrade"):
        return TradeFeed(spec, kind == "aggTrade", now)
    if kind.startswith("kline_") and kind[6:] in INTERVALS:
        return KlineFeed(spec, kind[6:], now)
    if kind in ("depth", "depth@1000ms", "depth@100ms"):
        period = 100 if kind.endswith("@100ms") else 1_000
        return DepthFeed(spec, period, now, lambda: snapshots(spec.market_id))
    if kind in ("ticker", "miniTicker"):
        return TickerFeed([spec], kind == "miniTicker", array=False)
    raise UnknownStream(
        f"unknown stream {name!r}: use <symbol>@trade, @aggTrade, @kline_<interval>, @depth, "
        "@depth@100ms, @ticker, @miniTicker, !ticker@arr or !miniTicker@arr"
    )
