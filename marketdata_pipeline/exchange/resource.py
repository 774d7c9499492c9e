"""The Dagster resource of one connector: its settings and its shared request budget."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource

from ..config import Connector, LoadedConfig
from .budget import RequestBudget, budget_path
from .client import ExchangeClient
from .limits import limits_for


def exchange_resource_key(exchange: str) -> str:
    return f"exchange_{exchange}"


class ExchangeResource(ConfigurableResource):
    """The ccxt client of one connector; its budget file is shared by every step and run."""

    connector: dict[str, Any]
    budget_path: str

    @property
    def settings(self) -> Connector:
        return Connector.model_validate(self.connector)

    def budget(self) -> RequestBudget:
        limit = limits_for(self.settings)
        return RequestBudget(self.budget_path, self.settings.id, limit.weight, limit.period_seconds)

    def client(self, streaming=None) -> ExchangeClient:
        return ExchangeClient(self.settings, self.budget(), streaming=streaming)


def exchange_resources(config: LoadedConfig) -> dict[str, ExchangeResource]:
    """One resource per enabled connector, under its resource key."""
    path = str(budget_path(config))
    return {
        exchange_resource_key(c.id): ExchangeResource(
            connector=c.model_dump(mode="json", exclude_none=True), budget_path=path
        )
        for c in config.connectors
    }
