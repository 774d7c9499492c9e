"""A connector's request budget in use right now, as every command shows it."""

from __future__ import annotations

from ..config import Connector, LoadedConfig
from ..exchange.limits import shared_budget


def used_of(config: LoadedConfig, connector: Connector) -> float:
    """Weight taken in the current window (0, creating nothing, when no request was ever made)."""
    return shared_budget(config, connector).used()
