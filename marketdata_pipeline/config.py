"""The YAML config (connectors, markets, storage), validated by pydantic into one-line errors."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import ccxt
import yaml
from dagster._utils.schedules import is_valid_cron_schedule
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .timeframes import TIMEFRAMES, Timeframe, get_timeframe

CONFIG_ENV = "MARKETDATA_CONFIG"
DEFAULT_CONFIG = "marketdata.yaml"
DEFAULT_MAP_SIZE = "20GB"


class ConfigError(Exception):
    """A user mistake in the config: the message is one line that names the file, field and fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Model):
    """Request budget of one connector: `weight` units per `period_seconds`, shared by all workers."""

    weight: int = Field(6000, gt=0)
    period_seconds: float = Field(60.0, gt=0)
    ohlcv_weight: int = Field(2, gt=0)
    markets_weight: int = Field(20, gt=0)

    @model_validator(mode="after")
    def _requests_fit(self) -> RateLimit:
        heaviest = max(self.ohlcv_weight, self.markets_weight)
        if heaviest > self.weight:
            raise ValueError(
                f"weight {self.weight} is below one request's weight ({heaviest}); raise it"
            )
        return self


class Quality(_Model):
    """How asset checks judge what exchanges serve."""

    error_share: float = Field(0.01, ge=0, le=1, description="bad-row share that fails a check")
    jump_multiple: float = Field(10.0, gt=0, description="price jump in recent volatilities")
    volatility_window: int = Field(60, ge=2)


class Freshness(_Model):
    """When a series counts as stale: more than `candles` closed candles plus `grace_seconds` behind."""

    candles: int = Field(2, ge=0)
    grace_seconds: int = Field(120, ge=0)


class Automation(_Model):
    running: bool = Field(True, description="schedules and the freshness sensor start running")


class Market(_Model):
    symbol: str
    timeframes: list[str] = Field(min_length=1)
    start: date
    schedule: str | None = Field(None, description="cron replacing the timeframe's cadence")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_cron_schedule(value):
            raise ValueError(f"schedule {value!r} is not a cron expression such as '*/5 * * * *'")
        return value

    @field_validator("symbol")
    @classmethod
    def _unified_symbol(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?", value):
            raise ValueError(f"symbol {value!r} is not a ccxt unified symbol such as 'BTC/USDT'")
        return value

    @field_validator("timeframes")
    @classmethod
    def _known_timeframes(cls, value: list[str]) -> list[str]:
        for name in value:
            get_timeframe(name)
        if len(set(value)) != len(value):
            raise ValueError(f"timeframes {value} list one timeframe twice")
        return value

    @field_validator("start")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > datetime.now(UTC).date():
            raise ValueError(f"start {value} is in the future; use a past date (YYYY-MM-DD)")
        return value


class Connector(_Model):
    """One public connector per ccxt exchange id."""

    id: str
    enabled: bool = True
    ccxt: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="ccxt credential field -> name of the environment variable holding it",
    )
    rate_limit: RateLimit = RateLimit()
    pool_size: int = Field(4, gt=0)
    page_size: int = Field(1000, gt=0)
    page_concurrency: int = Field(8, gt=0)
    pages_per_write: int = Field(16, gt=0, description="resume granularity of a long backfill")
    max_retries: int = Field(5, ge=0)
    settle_seconds: int = Field(
        5, ge=0, description="wait after a candle's close before storing it"
    )
    markets: list[Market] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _known_exchange(cls, value: str) -> str:
        if value not in ccxt.exchanges:
            raise ValueError(
                f"unknown exchange id {value!r}; use a ccxt exchange id such as binance, okx, bybit"
            )
        return value

    @field_validator("credentials")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for field, env in value.items():
            if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", env):
                raise ValueError(
                    f"credentials.{field} must name an environment variable (e.g. BINANCE_API_KEY),"
                    " never hold the secret itself"
                )
        return value


class MarketDataConfig(_Model):
    storage: str | None = None
    exchanges: list[Connector] = Field(default_factory=list)
    quality: Quality = Quality()
    freshness: Freshness = Freshness()
    automation: Automation = Automation()

    @model_validator(mode="after")
    def _one_connector_per_exchange(self) -> MarketDataConfig:
        seen: set[str] = set()
        for connector in self.exchanges:
            if connector.id in seen:
                raise ValueError(
                    f"exchange {connector.id!r} is configured twice; merge its markets"
                )
            seen.add(connector.id)
        return self

    @model_validator(mode="after")
    def _one_series_each(self) -> MarketDataConfig:
        """Two entries naming one series would share its asset key and its ArcticDB symbol."""
        seen: set[tuple[str, str, str]] = set()
        for connector in self.exchanges:
            for market in connector.markets:
                for tf in market.timeframes:
                    key = (connector.id, market_slug(market.symbol), tf)
                    if key in seen:
                        raise ValueError(
                            f"{connector.id} {market.symbol} {tf} is configured twice; list each"
                            " symbol once per exchange"
                        )
                    seen.add(key)
        return self


@dataclass(frozen=True)
class Series:
    """One stored candle series: (exchange, symbol, timeframe) from its start date."""

    exchange: str
    symbol: str
    timeframe: Timeframe
    start: date
    schedule: str | None = None

    @property
    def market_slug(self) -> str:
        return market_slug(self.symbol)

    @property
    def name(self) -> str:
        return f"{self.exchange}/{self.market_slug}/{self.timeframe.name}"

    @property
    def start_ms(self) -> int:
        return int(
            datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()
            * 1000
        )


def market_slug(symbol: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", symbol.lower()).strip("_")


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
            Series(c.id, m.symbol, TIMEFRAMES[tf], m.start, m.schedule)
            for c in self.connectors
            for m in c.markets
            for tf in m.timeframes
        ]

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
        chosen = [
            s
            for s in self.series
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
            raise ConfigError(
                f"no configured series matches {wanted} in {self.path}; see `marketdata series`"
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
