"""The operator's view: each connector's request budget and pool, read from shared state."""

from __future__ import annotations

from dagster import DagsterInstance

from .config import LoadedConfig
from .definitions import build_definitions
from .exchange import ExchangeResource


def connector_rows(config: LoadedConfig, instance: DagsterInstance) -> list[dict]:
    """One row per connector: budget, weight used in the current window, pool usage."""
    resources = build_definitions(config).resources
    rows = []
    for connector in config.connectors:
        exchange: ExchangeResource = resources[f"exchange_{connector.id}"]
        budget = exchange.budget()
        pool = instance.event_log_storage.get_concurrency_info(connector.id)
        limit = connector.rate_limit
        rows.append(
            {
                "exchange": connector.id,
                "budget": f"{limit.weight}/{limit.period_seconds:g}s",
                "used": budget.used(),
                "paused_s": round(budget.paused_for(), 1),
                "pool": f"{len(pool.claimed_slots)}/{pool.slot_count}",
                "waiting_steps": len(pool.pending_steps),
            }
        )
    return rows
