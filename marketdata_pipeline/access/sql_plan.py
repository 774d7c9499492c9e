"""Which series and time range a SQL query can see, read off DuckDB's own parse of it.

From the AND-ed conditions of WHERE clauses (and inner-join ON clauses) that reference one of
`TABLES`, equality and IN on exchange, symbol and timeframe and ranges on the table's time
(open_time; a trade's timestamp; a book snapshot's, its metrics' or a ticker's local_timestamp)
narrow what must be read. Anything not understood (OR, functions on those columns,
joins whose partners could change) leaves the read wider: never a wrong answer, only slower.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import duckdb

from ..config import Series
from ..storage.schema import (
    BOOK_METRICS,
    CANDLES,
    INDICATORS,
    ORDER_BOOKS,
    TICKERS,
    TRADE_CANDLES,
    TRADES,
)
from .duck import SqlError, connect, duck

# Tables of a whole market, not of a timeframe: no `timeframe` column.
MARKET_TABLES = (TRADES, ORDER_BOOKS, BOOK_METRICS, TICKERS)
TABLES = (CANDLES, INDICATORS, TRADE_CANDLES, *MARKET_TABLES)

KEYS = ("exchange", "symbol", "timeframe")

# Each table's time column, on which ranges prune the read: trades have no open time, and
# snapshots are indexed by when they were received (the exchange's time may be missing).
TIME_COLUMN = (
    dict.fromkeys(TABLES, "open_time")
    | {TRADES: "timestamp"}
    | dict.fromkeys((ORDER_BOOKS, BOOK_METRICS, TICKERS), "local_timestamp")
)


def keys_of(table: str) -> tuple[str, ...]:
    """The columns naming a table's series: a market's data has no timeframe."""
    return KEYS[:2] if table in MARKET_TABLES else KEYS


# [start, end) in ms of `open_time <op> t`, from the first ms at or after t and the last at or before.
_TIME_BOUNDS = {
    "COMPARE_EQUAL": lambda first, last: (first, last + 1),
    "COMPARE_GREATERTHAN": lambda first, last: (last + 1, None),
    "COMPARE_GREATERTHANOREQUALTO": lambda first, last: (first, None),
    "COMPARE_LESSTHAN": lambda first, last: (None, first),
    "COMPARE_LESSTHANOREQUALTO": lambda first, last: (None, last + 1),
}


_FLIPPED = {
    "COMPARE_EQUAL": "COMPARE_EQUAL",
    "COMPARE_GREATERTHAN": "COMPARE_LESSTHAN",
    "COMPARE_GREATERTHANOREQUALTO": "COMPARE_LESSTHANOREQUALTO",
    "COMPARE_LESSTHAN": "COMPARE_GREATERTHAN",
    "COMPARE_LESSTHANOREQUALTO": "COMPARE_GREATERTHANOREQUALTO",
}


# Literal types whose cast to TIMESTAMPTZ is what DuckDB does when comparing them to open_time.
_TIME_TYPES = {"date", "timestamp", "datetime", "timestamptz", "timestamp with time zone"}
_TIME_TYPES |= {"timestamp_s", "timestamp_ms", "timestamp_us"}


# Joins whose result keeps a row only if its WHERE holds on each side's own row. ASOF and
# POSITIONAL joins pick partners among all rows, so pruning one side could change the partners.
_PRUNABLE_JOINS = {"REGULAR", "CROSS", "NATURAL"}


@dataclass
class Filter:
    """What one reference to a table may see: allowed key values and its time in [start, end)."""

    table: str
    values: dict[str, set[str]] = field(default_factory=dict)
    start_ms: int | None = None
    end_ms: int | None = None

    def restrict(self, column: str, bound: set[str] | tuple[int | None, int | None]) -> None:
        if isinstance(bound, set):
            self.values[column] = self.values.get(column, bound) & bound
            return
        if column != TIME_COLUMN[self.table]:
            return
        start, end = bound
        if start is not None:
            self.start_ms = start if self.start_ms is None else max(self.start_ms, start)
        if end is not None:
            self.end_ms = end if self.end_ms is None else min(self.end_ms, end)

    def admits(self, series: Series) -> bool:
        key = {"exchange": series.exchange, "symbol": series.symbol}
        key["timeframe"] = series.timeframe.name if series.data == "candles" else None
        empty = None not in (self.start_ms, self.end_ms) and self.start_ms >= self.end_ms
        return not empty and all(key[c] in v for c, v in self.values.items())


def plan(query: str, con: duckdb.DuckDBPyConnection | None = None) -> dict[str, list[Filter]]:
    """Each table the query mentions, with one Filter per reference that reads it.

    An empty list means only the schema is needed (DESCRIBE).
    """
    if con is None:
        with connect() as con:
            return plan(query, con)
    statements = duck(con.extract_statements, query)
    if len(statements) != 1:
        raise SqlError(f"expected one SQL statement, got {len(statements)}")
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [query]).fetchall()[0][0])
    if tree.get("error"):  # not a SELECT (EXPLAIN, PRAGMA...): every mentioned table, in full
        return {t: [Filter(t)] for t in TABLES if re.search(rf"\b{t}\b", query, re.IGNORECASE)}
    planner = _Planner(con)
    planner.visit(tree["statements"], schema_only=False)
    return {
        t: [f for key, f in planner.filters.items() if planner.tables[key] == t]
        for t in sorted(set(planner.tables.values()) | planner.schema_only)
    }


class _Planner:
    """Walks the parsed query and narrows a Filter per reference to one of our tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.filters: dict[int, Filter] = {}
        self.tables: dict[int, str] = {}
        self.schema_only: set[str] = set()

    def visit(self, node, schema_only: bool) -> None:
        if isinstance(node, list):
            for child in node:
                self.visit(child, schema_only)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        schema_only |= kind == "SHOW_REF" and node.get("show_type") == "DESCRIBE"
        table = _our_table(node)
        if table and schema_only:
            self.schema_only.add(table)
        elif table:
            self.tables[id(node)] = table
            self.filters.setdefault(id(node), Filter(table))
        if kind == "SELECT_NODE" and not schema_only:
            _Scope(self, node)
        for child in node.values():
            self.visit(child, schema_only)

    def instant_us(self, node: dict) -> int | None:
        """Epoch µs of a text/date/timestamp literal, computed by DuckDB as its comparison would."""
        cast = "timestamptz"
        if node.get("class") == "CAST" and not node.get("try_cast"):
            cast = node["type_expr"].get("type_name", "").lower()
            node = node["child"]
        text = _string(node)
        if text is None or cast not in _TIME_TYPES:
            return None
        sql = f"SELECT epoch_us(CAST(CAST(? AS {cast}) AS TIMESTAMPTZ))"
        try:
            return self.con.execute(sql, [text]).fetchall()[0][0]
        except duckdb.Error:
            return None


class _Scope:
    """One SELECT: its FROM sources, and the filters its WHERE and inner-join ONs imply."""

    def __init__(self, planner: _Planner, select: dict) -> None:
        self.planner = planner
        self.sources: list[tuple[str, dict | None]] = []  # (name, prunable reference to ours)
        self.conjuncts: list[dict] = _conjuncts(select.get("where_clause"))
        self.same: dict[tuple[int, str], tuple[int, str]] = {}  # union-find of equal columns
        self.using: set[tuple[int, str]] = set()
        # USING SAMPLE draws before WHERE filters, so its rows must come from everything.
        self._collect(select.get("from_table"), prunable=not select.get("sample"))
        for expr in self.conjuncts:
            self._equate(expr)
        for expr in self.conjuncts:
            self._apply(expr)

    def _collect(self, node: dict | None, prunable: bool) -> list[int]:
        """Register sources below `node`; returns those joined to it by inner joins only."""
        if not node:
            return []
        if node.get("type") == "JOIN":
            prunable &= node.get("ref_type") in _PRUNABLE_JOINS
            left = self._collect(node.get("left"), prunable)
            right = self._collect(node.get("right"), prunable)
            if node.get("join_type") != "INNER" or node.get("ref_type") != "REGULAR":
                return []
            self.conjuncts += _conjuncts(node.get("condition"))
            for column in node.get("using_columns") or []:
                for i in left + right:
                    self.using.add((i, column.lower()))
                    self._union((i, column.lower()), (left + right)[0], column.lower())
            return left + right
        name = (node.get("alias") or node.get("table_name") or "").lower()
        table = _our_table(node) if prunable and not node.get("sample") else None
        if table:
            self.planner.filters.setdefault(id(node), Filter(table))
        self.sources.append((name, node if table else None))
        return [len(self.sources) - 1]

    def _find(self, key: tuple[int, str]) -> tuple[int, str]:
        while self.same.get(key, key) != key:
            key = self.same[key]
        return key

    def _union(self, key: tuple[int, str], other: int, column: str) -> None:
        self.same[self._find(key)] = self._find((other, column))

    def _resolve(self, ref: dict) -> tuple[int, str] | None:
        """The source index and column a column reference names, if certain."""
        if ref.get("class") != "COLUMN_REF":
            return None
        *qualifier, column = (n.lower() for n in ref["column_names"])
        if qualifier:
            hits = [i for i, (name, _) in enumerate(self.sources) if name == qualifier[-1]]
            return (hits[0], column) if len(hits) == 1 else None
        if len(self.sources) == 1:
            return 0, column
        shared = [i for i, _ in enumerate(self.sources) if (i, column) in self.using]
        return (shared[0], column) if shared else None

    def _equate(self, expr: dict) -> None:
        """`a.x = b.x` makes a filter on one side hold for the other."""
        if expr.get("type") == "COMPARE_EQUAL":
            a, b = self._resolve(expr["left"]), self._resolve(expr["right"])
            if a and b and a[1] == b[1]:
                self._union(a, b[0], b[1])

    def _apply(self, expr: dict) -> None:
        for ref, bound in self._bounds(expr):
            where = self._resolve(ref)
            if where is None:
                continue
            root = self._find(where)
            for i, (_, node) in enumerate(self.sources):
                if node is not None and self._find((i, where[1])) == root:
                    self.planner.filters[id(node)].restrict(where[1], bound)

    def _bounds(self, expr: dict):
        """(column reference, values or ms range) pairs that `expr` requires of its rows."""
        kind = expr.get("type")
        if kind == "COMPARE_IN" and _name(expr["children"][0]) in KEYS:
            values = [_string(child) for child in expr["children"][1:]]
            if None not in values:
                yield expr["children"][0], set(values)
        elif kind == "COMPARE_BETWEEN":
            yield from self._compare(expr["input"], "COMPARE_GREATERTHANOREQUALTO", expr["lower"])
            yield from self._compare(expr["input"], "COMPARE_LESSTHANOREQUALTO", expr["upper"])
        elif kind in _FLIPPED:
            left, right = expr["left"], expr["right"]
            if right.get("class") == "COLUMN_REF":
                yield from self._compare(right, _FLIPPED[kind], left)
            else:
                yield from self._compare(left, kind, right)

    def _compare(self, column: dict, op: str, literal: dict):
        name = _name(column)
        if name in KEYS and op == "COMPARE_EQUAL" and _string(literal) is not None:
            yield column, {_string(literal)}
        elif name in TIME_COLUMN.values() and (us := self.planner.instant_us(literal)) is not None:
            yield column, _TIME_BOUNDS[op](-(-us // 1000), us // 1000)


def _conjuncts(expr: dict | None) -> list[dict]:
    if not expr:
        return []
    if expr.get("type") == "CONJUNCTION_AND":
        return [c for child in expr["children"] for c in _conjuncts(child)]
    return [expr]


def _our_table(node: dict) -> str | None:
    if node.get("type") != "BASE_TABLE" or node.get("schema_name") not in ("", "main", None):
        return None
    name = node.get("table_name", "").lower()
    return name if name in TABLES else None


def _name(node: dict) -> str | None:
    return node["column_names"][-1].lower() if node.get("class") == "COLUMN_REF" else None


def _string(node: dict) -> str | None:
    """The text of a string constant (DuckDB 2 `literal`, DuckDB 1 `value` layout), else None."""
    if node.get("class") != "CONSTANT":
        return None
    literal, value = node.get("literal"), node.get("value")
    if literal is not None:
        return literal["text"] if literal.get("kind") == "STRING" else None
    if value and value["type"]["id"] == "VARCHAR" and not value["is_null"]:
        return value["value"]
    return None
