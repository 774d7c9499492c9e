"""`marketdata pools`: each exchange's Dagster pool limit set to its connector's pool_size.

Every command that opens the instance does this too; in production (deploy/) it runs once
before the code server starts, so the daemon enforces the configured limits from its first run.
"""

from __future__ import annotations

import click

from .support import config_of, user_errors


@click.command()
@click.pass_context
@user_errors
def pools(ctx: click.Context) -> None:
    """Set each exchange's Dagster pool limit to its connector's pool_size ($DAGSTER_HOME)."""
    from ..ops.instance import project_instance

    config = config_of(ctx)
    instance = project_instance(config)
    for connector in config.connectors:
        slots = instance.event_log_storage.get_concurrency_info(connector.id).slot_count
        click.echo(f"pool {connector.id}: {slots}")
