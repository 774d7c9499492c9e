"""The YAML config's pydantic models: every field, its default and its one-line error."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..timeframes import get_timeframe
from .exchange_ids import exchange_ids, pro_exchange_ids
from .series import market_slug


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Model):
    """An override of a connector's request budget (by default taken from ccxt, see
    `exchange.limits`): `weight` units per `period_seconds`, shared by all workers, in the
    units requests are charged in (Binance: its request weight)."""

    weight: float = Field(gt=0)
    period_seconds: float = Field(60.0, gt=0)


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


class OrderBook(_Model):
    """Top-of-book snapshots of a market, polled by `marketdata stream`."""

    depth: int = Field(20, gt=0, le=5000, description="levels per side")
    every_seconds: float = Field(10.0, ge=1, description="one REST snapshot per this many seconds")


class Market(_Model):
    symbol: str
    timeframes: list[str] = Field(min_length=1)
    start: date
    schedule: str | None = Field(
        None, description="cron replacing the timeframe's cadence (checked by `check_schedules`)"
    )
    partition: Literal["day", "month", "year"] | None = Field(
        None, description="Dagster partition window; default sized by each timeframe's volume"
    )
    trades: bool = Field(False, description="collect every trade, and candles built from them")
    order_book: OrderBook | None = Field(None, description="collect order book snapshots")
    ticker: bool = Field(False, description="collect the 24-hour ticker")
    enabled: bool = Field(True, description="collected; a disabled market keeps its stored data")
    stream: bool = Field(
        False,
        description="`marketdata stream` watches it over WebSocket (trades, book, ticker, candles)",
    )

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
    rate_limit: RateLimit | None = Field(
        None, description="override of the budget ccxt gives for this exchange"
    )
    pool_size: int = Field(4, gt=0)
    page_size: int = Field(1000, gt=0)
    page_concurrency: int = Field(8, gt=0)
    pages_per_write: int = Field(16, gt=0, description="resume granularity of a long backfill")
    max_retries: int = Field(5, ge=0)
    settle_seconds: int = Field(
        5, ge=0, description="wait after a candle's close before storing it"
    )
    ticker_every_seconds: float = Field(
        10.0, ge=1, description="one tickers request for all ticker markets per this many seconds"
    )
    markets: list[Market] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _known_exchange(cls, value: str) -> str:
        if value not in exchange_ids():
            raise ValueError(
                f"unknown exchange id {value!r}; use a ccxt exchange id such as binance, okx, bybit"
            )
        return value

    @model_validator(mode="after")
    def _streams_over_websocket(self) -> Connector:
        streamed = [m.symbol for m in self.markets if m.stream]
        if streamed and self.id not in pro_exchange_ids():
            raise ValueError(
                f"markets[{streamed[0]}].stream: ccxt has no WebSocket support for {self.id};"
                " remove `stream: true` (its order book and ticker are then polled over REST)"
            )
        return self

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


class CoordinationSettings(_Model):
    """Where every process and machine shares budgets, locks and state (see `coordination`):
    a Postgres URL without its password, which comes from the environment variable
    `password_env` names."""

    url: str
    password_env: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _url_alone(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if not re.match(r"postgres(ql)?://", value):
            raise ValueError(
                f"coordination {value!r} is not a postgresql://user@host:5432/db URL; leave it"
                " out for the embedded backend (one machine)"
            )
        if re.match(r"postgres(ql)?://[^/@]*:[^/@]*@", value):
            raise ValueError(
                "coordination: the URL must not hold the password; name an environment variable"
                " holding it in coordination.password_env"
            )
        return value

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(
                f"coordination.password_env must name an environment variable (e.g."
                f" MARKETDATA_PG_PASSWORD), not {value!r}"
            )
        return value


class MarketDataConfig(_Model):
    storage: str | None = None
    coordination: CoordinationSettings | None = None
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
