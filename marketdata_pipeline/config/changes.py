"""The edits behind `marketdata connectors` and `marketdata markets`, made on the round-trip
document: each returns (changed, message), and finding its work already done is no change.
New entries follow the style of their neighbours (flow or block timeframes, quoted dates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from . import comments
from .loader import ConfigError

ADD_MARKET = "marketdata markets add {exchange} {symbol} --timeframes 1m,1h --start YYYY-MM-DD"


@dataclass(frozen=True)
class MarketRequest:
    """What `markets add` asks for; None leaves an existing market's setting as it is."""

    symbol: str
    timeframes: list[str] | None = None
    start: date | str | None = None  # a str the loader rejects, so it names the mistake
    trades: bool | None = None
    order_book_depth: int | None = None
    ticker: bool | None = None


def add_connector(doc: CommentedMap, exchange: str) -> tuple[bool, str]:
    node = connector_node(doc, exchange)
    if node is not None:
        return False, f"connector {exchange} already exists{_off(node, exchange)}; nothing changed"
    comments.append(_list(doc, "exchanges"), None, CommentedMap([("id", exchange)]))
    hint = ADD_MARKET.format(exchange=exchange, symbol="SYMBOL")
    return True, f"added connector {exchange}; add markets with `{hint}`"


def set_connector_enabled(doc: CommentedMap, exchange: str, enabled: bool) -> tuple[bool, str]:
    node = _connector(doc, exchange)
    word = "enabled" if enabled else "disabled"
    if _set(node, "enabled", enabled, default=True, after="id"):
        return True, f"{word} connector {exchange}"
    return False, f"connector {exchange} is already {word}; nothing changed"


def add_market(doc: CommentedMap, exchange: str, want: MarketRequest) -> tuple[bool, str]:
    """Add the market, or bring an existing one up to what is asked (an upsert): timeframes
    are added to its own, and settings given replace its settings."""
    connector = _connector(doc, exchange)
    label = f"{exchange} {want.symbol}"
    node = market_node(connector, want.symbol)
    if node is None:
        if not want.timeframes or want.start is None:
            raise ConfigError(
                f"{label} is a new market; give --timeframes and --start"
                " (e.g. --timeframes 1m,1h --start 2024-01-01)"
            )
        markets = _list(connector, "markets")
        comments.append(markets, None, _new_market(want, markets[-1] if markets else None))
        return True, f"added market {label}"
    label = f"{exchange} {node['symbol']}"
    changes = []
    added = [tf for tf in want.timeframes or [] if tf not in node["timeframes"]]
    for timeframe in added:
        comments.append(node["timeframes"], None, timeframe)
    if added:
        changes.append(f"timeframes +{','.join(added)}")
    if want.start is not None and str(node["start"]) != str(want.start):
        node["start"] = _like(node["start"], want.start)
        changes.append(f"start {want.start}")
    for key in ("trades", "ticker"):
        value = getattr(want, key)
        if value is not None and _set(node, key, value, default=False):
            changes.append(f"{key} {'on' if value else 'off'}")
    depth = want.order_book_depth
    if depth is not None and (node.get("order_book") or {}).get("depth") != depth:
        if node.get("order_book") is None:
            comments.append(node, "order_book", _flow(CommentedMap([("depth", depth)])))
        else:
            node["order_book"]["depth"] = depth
        changes.append(f"order_book depth {depth}")
    if changes:
        return True, f"updated market {label}: {', '.join(changes)}"
    return False, f"market {label} already exists{_off(node, label)}; nothing changed"


def remove_market(doc: CommentedMap, exchange: str, symbol: str) -> tuple[bool, str]:
    connector = _connector(doc, exchange)
    node = market_node(connector, symbol)
    if node is None:
        return False, f"{exchange} has no market {symbol} ({_symbols(connector)}); nothing removed"
    markets = connector["markets"]
    comments.remove(
        markets, next(i for i, m in enumerate(markets) if m is node), connector, "markets"
    )
    return True, f"removed market {exchange} {node['symbol']} (its stored data is kept)"


def set_market_enabled(
    doc: CommentedMap, exchange: str, symbol: str, enabled: bool
) -> tuple[bool, str]:
    connector = _connector(doc, exchange)
    node = market_node(connector, symbol)
    if node is None:
        raise ConfigError(
            f"{exchange} has no market {symbol!r} ({_symbols(connector)});"
            f" add it with `{ADD_MARKET.format(exchange=exchange, symbol=symbol)}`"
        )
    word, label = "enabled" if enabled else "disabled", f"{exchange} {node['symbol']}"
    if _set(node, "enabled", enabled, default=True, after="symbol"):
        return True, f"{word} market {label}"
    return False, f"market {label} is already {word}; nothing changed"


def connector_node(doc: CommentedMap, exchange: str) -> CommentedMap | None:
    return next((c for c in doc.get("exchanges") or [] if c.get("id") == exchange), None)


def market_node(connector: CommentedMap, symbol: str) -> CommentedMap | None:
    """Symbols match whatever their case, as the commands that read them do."""
    wanted = symbol.upper()
    return next(
        (m for m in connector.get("markets") or [] if str(m["symbol"]).upper() == wanted), None
    )


def _connector(doc: CommentedMap, exchange: str) -> CommentedMap:
    node = connector_node(doc, exchange)
    if node is None:
        ids = ", ".join(str(c.get("id")) for c in doc.get("exchanges") or []) or "none"
        raise ConfigError(
            f"no connector {exchange!r} (configured: {ids});"
            f" add it with `marketdata connectors add {exchange}`"
        )
    return node


def _new_market(want: MarketRequest, neighbour: CommentedMap | None) -> CommentedMap:
    """The market's entry, its timeframes and start written as its neighbour writes them."""
    timeframes = CommentedSeq(want.timeframes)
    if neighbour is None or _flow_style(neighbour.get("timeframes")):
        timeframes.fa.set_flow_style()
    node = CommentedMap(
        [
            ("symbol", want.symbol),
            ("timeframes", timeframes),
            ("start", _like(neighbour.get("start") if neighbour else None, want.start)),
        ]
    )
    if want.trades:
        node["trades"] = True
    if want.order_book_depth is not None:
        node["order_book"] = _flow(CommentedMap([("depth", want.order_book_depth)]))
    if want.ticker:
        node["ticker"] = True
    return node


def _list(node: CommentedMap, key: str) -> CommentedSeq:
    """`node[key]` as a list to append to; a missing, null or empty one becomes a block list."""
    if not node.get(key):
        if key in node:
            node[key] = CommentedSeq()
        else:
            comments.append(node, key, CommentedSeq())
    return node[key]


def _set(node: CommentedMap, key: str, value: Any, *, default: Any, after: str = "") -> bool:
    """Set `node[key]`; a missing key goes after `after` (else last). False if already so."""
    if node.get(key, default) == value:
        return False
    if key in node:
        node[key] = value
    elif after in node:
        node.insert(list(node).index(after) + 1, key, value)
    else:
        comments.append(node, key, value)
    return True


def _like(example: Any, value: date | str | None) -> Any:
    """A date written as the example writes its date: quoted text, or a plain YAML date."""
    if isinstance(example, str) and isinstance(value, date):
        return value.isoformat()
    return value


def _flow(node: CommentedMap) -> CommentedMap:
    node.fa.set_flow_style()
    return node


def _flow_style(node: Any) -> bool:
    return isinstance(node, CommentedSeq | CommentedMap) and bool(node.fa.flow_style())


def _off(node: CommentedMap, label: str) -> str:
    if node.get("enabled", True):
        return ""
    kind = "markets" if "symbol" in node else "connectors"
    return f" (disabled; enable it with `marketdata {kind} enable {label}`)"


def _symbols(connector: CommentedMap) -> str:
    symbols = [str(m["symbol"]) for m in connector.get("markets") or []]
    return f"its markets: {', '.join(symbols)}" if symbols else "it has no markets"
