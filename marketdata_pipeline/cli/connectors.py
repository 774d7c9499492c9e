"""`marketdata connectors`: every connector with its budget, usage, pool and markets; `add`,
`enable` and `disable` edit the config (see `config.edit`)."""

from __future__ import annotations

import click

from ..config import Connector, LoadedConfig
from ..config.changes import add_connector, set_connector_enabled
from ..exchange.limits import limits_for
from .budgets import used_of
from .edits import apply
from .reload import dagster_url_option
from .support import config_of, table, user_errors


@click.group(invoke_without_command=True)
@click.pass_context
@user_errors
def connectors(ctx: click.Context) -> None:
    """List every connector (enabled or not): its request budget and where it comes from, the
    weight used in the current window, its pool size and its markets."""
    if ctx.invoked_subcommand is None:
        config = config_of(ctx)
        if not config.model.exchanges:
            click.echo("no connectors configured; add one with `marketdata connectors add ID`")
            return
        click.echo(table([connector_row(config, c) for c in config.model.exchanges]))


def connector_row(config: LoadedConfig, connector: Connector) -> dict:
    budget = limits_for(connector)
    markets = [m.symbol + ("" if m.enabled else " (disabled)") for m in connector.markets]
    return {
        "exchange": connector.id,
        "status": "enabled" if connector.enabled else "disabled",
        "budget": str(budget),
        "source": budget.source,
        "used": used_of(config, connector),
        "pool": connector.pool_size,
        "markets": ", ".join(markets) or "-",
    }


@connectors.command("add")
@click.argument("exchange")
@dagster_url_option
@click.pass_context
@user_errors
def add(ctx: click.Context, exchange: str, dagster_url: str) -> None:
    """Add a connector for EXCHANGE (a ccxt exchange id); the config file is created if missing."""
    exchange = exchange.lower()
    apply(ctx, lambda doc: add_connector(doc, exchange), dagster_url, create=True)


@connectors.command("enable")
@click.argument("exchange")
@dagster_url_option
@click.pass_context
@user_errors
def enable(ctx: click.Context, exchange: str, dagster_url: str) -> None:
    """Collect from EXCHANGE again."""
    exchange = exchange.lower()
    apply(ctx, lambda doc: set_connector_enabled(doc, exchange, True), dagster_url)


@connectors.command("disable")
@click.argument("exchange")
@dagster_url_option
@click.pass_context
@user_errors
def disable(ctx: click.Context, exchange: str, dagster_url: str) -> None:
    """Stop collecting from EXCHANGE (its settings and stored data are kept)."""
    exchange = exchange.lower()
    apply(ctx, lambda doc: set_connector_enabled(doc, exchange, False), dagster_url)
