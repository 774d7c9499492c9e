"""``GET /api/v3/ticker/24hr``: rolling 24-hour statistics that agree with the klines.

The window is every visible 1-minute candle opening in ``[now - 24 h, now]`` (the current one
holds its trades so far), so open, high, low, volume, quote volume and count are an exact
aggregation of the klines a client can fetch; ``openTime`` is ``now - 24 h`` and
``closeTime`` now, as on Binance. The last price, quantity and id are the last visible trade,
the bid and ask the top of the book served at the same time. A minute opens at the previous
minute's close, so ``prevClosePrice`` (the last trade before the window) equals the open.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marketdata_pipeline.simulator import errors
from marketdata_pipeline.simulator.aggregate import Gaps, visible_minutes
from marketdata_pipeline.simulator.book import book_at_time
from marketdata_pipeline.simulator.decimals import DIGITS
from marketdata_pipeline.simulator.intervals import DAY_MS, MINUTE_MS
from marketdata_pipeline.simulator.symbols import MarketSpec
from marketdata_pipeline.simulator.trade_ids import RAW, first_ids
from marketdata_pipeline.simulator.trade_pages import select_raw_trades

_MINI = (
    "symbol",
    "openPrice",
    "highPrice",
    "lowPrice",
    "lastPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
)


def weight(query: Mapping[str, str]) -> int:
    """Binance's weight: 2 for one symbol or up to 20 listed, 40 up to 100, else 80."""
    if query.get("symbol"):
        return 2
    try:
        count = len(json.loads(query["symbols"]))
    except (KeyError, ValueError, TypeError):
        return 2 if query.get("symbols") else 80
    return 2 if count <= 20 else 40 if count <= 100 else 80


def wanted(
    specs: Mapping[str, MarketSpec], query: Mapping[str, str]
) -> tuple[list[MarketSpec], bool]:
    """The markets asked for, and whether it was one ``symbol`` (answered with an object)."""
    single, many = query.get("symbol"), query.get("symbols")
    if single and many:
        raise errors.bad_combination()
    if single:
        if single.upper() not in specs:
            raise errors.invalid_symbol()
        return [specs[single.upper()]], True
    if not many:
        return list(specs.values()), False
    try:
        names = json.loads(many)
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise errors.illegal_parameter("symbols", errors.SYMBOLS_PATTERN)
    if len(set(names)) < len(names):
        raise errors.duplicate_symbols()
    if any(n not in specs for n in names):
        raise errors.invalid_symbol()
    return [specs[n] for n in names], False


def ticker_type(query: Mapping[str, str]) -> str:
    kind = query.get("type") or "FULL"
    if kind not in ("FULL", "MINI"):
        raise errors.invalid_ticker_type()
    return kind


def _text(amount: int, per: int) -> str:
    """``amount / per`` with Binance's 8 decimals (exact: ``per`` divides the grid)."""
    whole, rest = divmod(abs(amount), per)
    return f"{'-' if amount < 0 else ''}{whole}.{rest * DIGITS // per:08d}"


def _stats(spec: MarketSpec, open_time: int, now_ms: int, gaps: Gaps) -> dict[str, int]:
    """The window's figures in ticks, quanta and quote units; zeros (ids -1) without trades."""
    first = -(-open_time // MINUTE_MS) * MINUTE_MS
    candles = visible_minutes(spec, first, now_ms + 1, now_ms, gaps)
    last = select_raw_trades(spec, None, 1, now_ms, gaps)
    if not len(candles) or not len(last):
        names = ("open", "high", "low", "last", "qty", "base", "quote", "count", "prev")
        return {**dict.fromkeys(names, 0), "first_id": -1, "last_id": -1}
    first_minute = int(candles.time[0]) // MINUTE_MS
    return {
        "open": int(candles.open[0]),
        "high": int(candles.high.max()),
        "low": int(candles.low.min()),
        "last": int(last.price[0]),
        "qty": int(last.qty[0]),
        "base": int(candles.volume.sum()),
        "quote": int(candles.quote_volume.sum()),
        "count": int(candles.trades.sum()),
        "prev": int(candles.open[0]) if first_minute > spec.listing_ms // MINUTE_MS else 0,
        "first_id": first_ids(spec, first_minute)[RAW],
        "last_id": int(last.id[0]),
    }


def ticker(spec: MarketSpec, now_ms: int, gaps: Gaps = (), kind: str = "FULL") -> dict[str, Any]:
    """One market's 24-hour ticker at ``now_ms``, fields and strings as Binance sends them."""
    price, volume = 10**spec.price_decimals, round(1 / spec.volume_quantum)
    open_time = now_ms - DAY_MS
    s = _stats(spec, open_time, now_ms, gaps)
    book = book_at_time(spec, now_ms, 1)
    bid = (int(book.bid_price[0]), int(book.bid_qty[0])) if len(book.bid_price) else (0, 0)
    ask = (int(book.ask_price[0]), int(book.ask_qty[0])) if len(book.ask_price) else (0, 0)
    change = s["last"] - s["open"]
    percent = Decimal(100 * change) / Decimal(s["open"]) if s["open"] else Decimal(0)
    average = 0  # quote / base in units of 1e-8, rounded half up
    if s["base"]:
        denominator = spec.quote_units * s["base"]
        average = (2 * s["quote"] * volume * DIGITS + denominator) // (2 * denominator)
    full = {
        "symbol": spec.market_id,
        "priceChange": _text(change, price),
        "priceChangePercent": str(percent.quantize(Decimal("0.001"), ROUND_HALF_UP)),
        "weightedAvgPrice": _text(average, DIGITS),
        "prevClosePrice": _text(s["prev"], price),
        "lastPrice": _text(s["last"], price),
        "lastQty": _text(s["qty"], volume),
        "bidPrice": _text(bid[0], price),
        "bidQty": _text(bid[1], volume),
        "askPrice": _text(ask[0], price),
        "askQty": _text(ask[1], volume),
        "openPrice": _text(s["open"], price),
        "highPrice": _text(s["high"], price),
        "lowPrice": _text(s["low"], price),
        "volume": _text(s["base"], volume),
        "quoteVolume": _text(s["quote"], spec.quote_units),
        "openTime": open_time,
        "closeTime": now_ms,
        "firstId": s["first_id"],
        "lastId": s["last_id"],
        "count": s["count"],
    }
    return full if kind == "FULL" else {key: full[key] for key in _MINI}


def tickers_body(specs: list[MarketSpec], single: bool, kind: str, now_ms: int, gaps: Gaps) -> str:
    """One object for a single ``symbol``, else a list in the order asked."""
    if single:
        return json.dumps(ticker(specs[0], now_ms, gaps, kind), separators=(",", ":"))
    rows = [ticker(spec, now_ms, gaps, kind) for spec in specs]
    return json.dumps(rows, separators=(",", ":"))
