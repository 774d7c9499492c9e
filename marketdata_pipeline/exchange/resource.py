"""The Dagster resource of one connector: its settings and its shared request budget."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource

from ..config import Connector, LoadedConfig
from ..coordination import RequestBudget, coordination_from, coordination_spec
from ..ops.metrics import tally_for
from .client import ExchangeClient
from .limits import limits_for


def exchange_resource_key(exchange: str) -> str:
    return f"exchange_{exchange}"


class ExchangeResource(ConfigurableResource):
    """The ccxt client of one connector; its budget is shared by every step and run (see
    `coordination`)."""

    connector: dict[str, Any]
    coordination: dict[str, Any]

    @property
    def settings(self) -> Connector:
        return Connector.model_validate(self.connector)

    def budget(self) -> RequestBudget:
        limit = limits_for(self.settings)
        return coordination_from(self.coordination).budget(
            self.settings.id, limit.weight, limit.period_seconds
        )

    def client(self, streaming=None) -> ExchangeClient:
        tally = tally_for(coordination_from(self.coordination))
        return ExchangeClient(self.settings, self.budget(), tally=tally, streaming=streaming)


def exchange_resources(config: LoadedConfig) -> dict[str, ExchangeResource]:
    """One resource per enabled connector, under its resource key."""
    spec = coordination_spec(config)
    return {
        exchange_resource_key(c.id): ExchangeResource(
            connector=c.model_dump(mode="json", exclude_none=True), coordination=spec
        )
        for c in config.connectors
    }
