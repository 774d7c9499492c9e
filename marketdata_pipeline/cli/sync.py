"""`marketdata sync`: backfill the matching series for a range, through Dagster."""

from __future__ import annotations

import sys

import click

from ..timeframes import now_ms
from .support import config_of, time_range, user_errors


@click.command()
@click.option("--exchange", help="Only this exchange id.")
@click.option("--symbol", help="Only this symbol, e.g. BTC/USDT.")
@click.option("--timeframe", help="Only this timeframe, e.g. 1h.")
@click.option("--start", help="First day or time to sync (UTC, inclusive).")
@click.option("--end", help="End of the range (UTC, exclusive); default now.")
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Give up after waiting this many seconds for a pool slot, a series lock or the budget.",
)
@click.pass_context
@user_errors
def sync(
    ctx: click.Context,
    exchange: str | None,
    symbol: str | None,
    timeframe: str | None,
    start: str | None,
    end: str | None,
    wait_timeout: float,
) -> None:
    """Materialize the matching candle assets for a range through Dagster."""
    # Dagster and ccxt: paid only by the commands using them
    from ..ops.guard import SyncGuard
    from ..ops.heal import heal_dead_runs
    from ..ops.instance import project_instance
    from .backfill import sync_series
    from .preflight import check_markets, in_range

    config = config_of(ctx)
    start_ms, end_ms = time_range(start, end, start_required=True)
    chosen = in_range(config.select(exchange, symbol, timeframe), start_ms, end_ms, now_ms())
    instance = project_instance(config)
    for healed in heal_dead_runs(instance):
        click.echo(f"healed: {healed}", err=True)

    def work() -> list[str]:
        return check_markets(config, chosen) or sync_series(config, chosen, start_ms, end_ms)

    guard = SyncGuard(instance, [c.id for c in config.connectors], wait_timeout)
    failures = guard.run(work)
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    sys.exit(1 if failures else 0)
