"""`marketdata status`: connectors, pools and every series' freshness; exit 1 when stale."""

from __future__ import annotations

import sys

import click

from ..timeframes import now_ms
from .support import config_of, table, user_errors


@click.command()
@click.pass_context
@user_errors
def status(ctx: click.Context) -> None:
    """Connectors' budgets and pools, then every series' freshness, why it is stale, and its
    runs, then each WebSocket stream's state; exits 1 if any series is stale. Runs whose process died are marked failed first."""
    from ..ops.heal import heal_dead_runs
    from ..ops.instance import project_instance
    from ..ops.status import connector_rows, series_rows

    config = config_of(ctx)
    config.check_schedules()  # next runs come from the crons
    instance = project_instance(config)
    for healed in heal_dead_runs(instance):
        click.echo(f"healed: {healed}", err=True)
    click.echo(table(connector_rows(config, instance)))
    rows = series_rows(config, instance, now_ms())
    click.echo("\n" + table(rows))
    if streamed := [s.name for s in config.all_series if config.streamed(s)]:
        from ..coordination import coordination_for
        from ..streaming.state import status_rows

        click.echo("\n" + table(status_rows(coordination_for(config), streamed, now_ms())))
    stale = [r["series"] for r in rows if r["state"] == "stale"]
    if stale:
        click.echo(f"stale: {', '.join(stale)}", err=True)
        sys.exit(1)
