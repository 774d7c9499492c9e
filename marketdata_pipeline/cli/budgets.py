"""A connector's effective request budget (see `exchange.limits`) and its use right now, as
every command shows them."""

from __future__ import annotations

from ..config import Connector, LoadedConfig
from ..exchange.budget import RequestBudget, budget_path
from ..exchange.limits import limits_for


def shared_budget(config: LoadedConfig, connector: Connector) -> RequestBudget:
    """The connector's budget as every process shares it (see `exchange.budget`)."""
    limits = limits_for(connector)
    return RequestBudget(budget_path(config), connector.id, limits.weight, limits.period_seconds)


def used_of(config: LoadedConfig, connector: Connector) -> float:
    """Weight taken in the current window; 0 without creating the budget file when no request
    was ever made."""
    if not budget_path(config).exists():
        return 0
    return shared_budget(config, connector).used()
