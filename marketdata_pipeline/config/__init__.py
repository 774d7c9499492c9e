"""The project's YAML config: models, series and the loader."""

from .loader import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    ConfigError,
    LoadedConfig,
    config_path,
    load_config,
)
from .models import (
    Automation,
    Connector,
    CoordinationSettings,
    Freshness,
    Market,
    MarketDataConfig,
    Quality,
    RateLimit,
)
from .series import Series, market_slug

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "Automation",
    "ConfigError",
    "Connector",
    "CoordinationSettings",
    "Freshness",
    "LoadedConfig",
    "Market",
    "MarketDataConfig",
    "Quality",
    "RateLimit",
    "Series",
    "config_path",
    "load_config",
    "market_slug",
]
