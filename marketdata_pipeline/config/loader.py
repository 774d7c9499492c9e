"""Reading the YAML config: where it is, what it resolves to, and one-line errors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..timeframes import TIMEFRAMES, get_timeframe
from .models import Connector, MarketDataConfig
from .series import Series

CONFIG_ENV = "MARKETDATA_CONFIG"
DEFAULT_CONFIG = "marketdata.yaml"
DEFAULT_MAP_SIZE = "20GB"


class ConfigError(Exception):
    """A user mistake in the config: the message is one line that names the file, field and fix."""


@dataclass(frozen=True)
class LoadedConfig:
    """The validated config plus where it came from, so relative paths resolve next to it."""

    path: Path
    model: MarketDataConfig

    @property
    def data_dir(self) -> Path:
        """Project-local state beside the config: LMDB data, series locks, request budgets."""
        return self.path.parent / ".data"

    @property
    def storage_uri(self) -> str:
        if self.model.storage:
            return self.model.storage
        return f"lmdb://{self.data_dir / 'arcticdb'}?map_size={DEFAULT_MAP_SIZE}"

    @property
    def connectors(self) -> list[Connector]:
        return [c for c in self.model.exchanges if c.enabled]

    def connector(self, exchange: str) -> Connector:
        for c in self.connectors:
            if c.id == exchange:
                return c
        raise ConfigError(
            f"{self.path}: no enabled exchange {exchange!r}; configured: {self._ids()}"
        )

    @cached_property
    def series(self) -> list[Series]:
        return [
            Series(
                c.id,
                m.symbol,
                TIMEFRAMES[tf],
                m.start,
                m.schedule,
                m.partition,
                "candles",
                m.trades,
            )
            for c in self.connectors
            for m in c.markets
            if m.enabled
            for tf in m.timeframes
        ]

    @cached_property
    def trade_series(self) -> list[Series]:
        """The trades of every market with `trades: true`, one day per partition."""
        return [
            Series(c.id, m.symbol, TIMEFRAMES["1m"], m.start, m.schedule, "day", "trades")
            for c in self.connectors
            for m in c.markets
            if m.trades and m.enabled
        ]

    @cached_property
    def polled_series(self) -> list[Series]:
        """Order books and tickers of the markets that collect them, polled by the collector."""
        found = []
        for c in self.connectors:
            for m in c.markets:
                polled = {
                    "order_book": (m.order_book and m.order_book.every_seconds, m.order_book),
                    "ticker": (m.ticker and c.ticker_every_seconds, None),
                }
                for data, (every, book) in polled.items():
                    if every and m.enabled:
                        found.append(
                            Series(
                                c.id,
                                m.symbol,
                                TIMEFRAMES["1m"],
                                m.start,
                                partition_override="day",
                                data=data,
                                every_seconds=every,
                                depth=book.depth if book else None,
                            )
                        )
        return found

    @cached_property
    def streamed_markets(self) -> set[tuple[str, str]]:
        """(exchange, symbol) of the enabled markets with `stream: true`."""
        return {
            (c.id, m.symbol) for c in self.connectors for m in c.markets if m.stream and m.enabled
        }

    def streamed(self, series: Series) -> bool:
        """Whether `marketdata stream` watches this series over WebSocket (else it polls)."""
        return (series.exchange, series.symbol) in self.streamed_markets

    @property
    def all_series(self) -> list[Series]:
        """Every stored series, as listings show them: candles, trades, then books and tickers."""
        return [*self.series, *self.trade_series, *self.polled_series]

    def trades_of(self, series: Series) -> Series:
        """The trades a candle series with `from_trades` is built from."""
        return next(
            t
            for t in self.trade_series
            if (t.exchange, t.symbol) == (series.exchange, series.symbol)
        )

    def check_schedules(self) -> None:
        """Each market's `schedule` must be a cron Dagster accepts, checked by Dagster itself.

        Only what runs schedules calls this: it imports Dagster, which the commands that only
        read stored data do without.
        """
        from dagster._utils.schedules import is_valid_cron_schedule

        for c in self.model.exchanges:
            for m in c.markets:
                if m.schedule is not None and not is_valid_cron_schedule(m.schedule):
                    raise ConfigError(
                        f"{self.path}: exchanges[{c.id}].markets[{m.symbol}].schedule: schedule"
                        f" {m.schedule!r} is not a cron expression such as '*/5 * * * *'"
                    )

    def peers(self, series: Series) -> list[Series]:
        """Series of the same exchange and timeframe, the other markets an outage would hit."""
        return [
            s
            for s in self.series
            if (s.exchange, s.timeframe) == (series.exchange, series.timeframe)
        ]

    def select(
        self, exchange: str | None = None, symbol: str | None = None, timeframe: str | None = None
    ) -> list[Series]:
        """Series matching the filters (case-insensitive); matching nothing is a user mistake."""
        if timeframe is not None:
            try:
                get_timeframe(timeframe)
            except ValueError as e:
                raise ConfigError(str(e)) from None
        return self._chosen(self.series, exchange, symbol, timeframe)

    def select_trades(self, exchange: str | None = None, symbol: str | None = None) -> list[Series]:
        """Trade series matching the filters; matching nothing is a user mistake."""
        return self._chosen(self.trade_series, exchange, symbol, None)

    def _chosen(
        self, series: list[Series], exchange: str | None, symbol: str | None, timeframe: str | None
    ) -> list[Series]:
        chosen = [
            s
            for s in series
            if (exchange is None or exchange.lower() == s.exchange)
            and (symbol is None or symbol.upper() == s.symbol.upper())
            and timeframe in (None, s.timeframe.name)
        ]
        if not chosen:
            wanted = " ".join(
                f"{k}={v}"
                for k, v in (("exchange", exchange), ("symbol", symbol), ("timeframe", timeframe))
                if v
            )
            kind = "series" if series is self.series else "market with `trades: true`"
            raise ConfigError(
                f"no configured {kind} matches {wanted or 'anything'} in {self.path};"
                " see `marketdata series`"
            )
        return chosen

    def _ids(self) -> str:
        return ", ".join(c.id for c in self.connectors) or "none"


class _Loader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so pydantic reports a bad one instead of PyYAML crashing."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()


def load_config(path: str | Path | None = None) -> LoadedConfig:
    """Read and validate the config; every failure is a ConfigError with a one-line message."""
    path = Path(path).resolve() if path else config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found; create it or set {CONFIG_ENV} to its path"
        ) from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> LoadedConfig:
    """Validate `text` as the config at `path`: an edit is checked before it is written."""
    try:
        raw = yaml.load(text, Loader=_Loader) or {}
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else "?"
        raise ConfigError(f"{path}:{line}: YAML syntax error: {e.problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with 'storage' and 'exchanges'")
    try:
        model = MarketDataConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{path}: {_describe(e, raw)}") from None
    return LoadedConfig(path, model)


def _describe(error: ValidationError, raw: dict) -> str:
    """The first validation error as `field: problem`, with list indices shown as names."""
    first = error.errors()[0]
    parts: list[str] = []
    node: Any = raw
    for loc in first["loc"]:
        if isinstance(loc, int):
            label = (
                node[loc].get("id") or node[loc].get("symbol")
                if isinstance(node[loc], dict)
                else None
            )
            parts[-1] += f"[{label or loc}]"
        else:
            parts.append(str(loc))
        node = node[loc] if isinstance(node, dict | list) and _has(node, loc) else None
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field; check its spelling against the README"
    elif first["type"].startswith("date"):
        message = f"invalid date {first.get('input')!r}; use YYYY-MM-DD"
    return f"{'.'.join(parts) or 'config'}: {message}"


def _has(node: Any, key: Any) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(key, int) and 0 <= key < len(node)
