"""A connector's effective request budget and where it comes from, decided in one place
(`budget_of`), so budgets derived from what ccxt knows of an exchange replace the defaults here
and every command shows the same figures."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Connector, LoadedConfig
from ..exchange.budget import RequestBudget, budget_path


@dataclass(frozen=True)
class Budget:
    weight: int
    period_seconds: float
    source: str  # "config" (its `rate_limit:` section) or "default"

    def __str__(self) -> str:
        return f"{self.weight}/{self.period_seconds:g}s"


def budget_of(connector: Connector) -> Budget:
    limit = connector.rate_limit
    source = "config" if {"weight", "period_seconds"} & limit.model_fields_set else "default"
    return Budget(limit.weight, limit.period_seconds, source)


def shared_budget(config: LoadedConfig, connector: Connector) -> RequestBudget:
    """The connector's budget as every process shares it (see `exchange.budget`)."""
    budget = budget_of(connector)
    return RequestBudget(budget_path(config), connector.id, budget.weight, budget.period_seconds)


def used_of(config: LoadedConfig, connector: Connector) -> int:
    """Weight taken in the current window; 0 without creating the budget file when no request
    was ever made."""
    if not budget_path(config).exists():
        return 0
    return shared_budget(config, connector).used()
