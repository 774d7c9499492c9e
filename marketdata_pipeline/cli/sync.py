"""`marketdata sync`: backfill the matching series for a range, through Dagster."""

from __future__ import annotations

import sys

import click

from .support import config_of, time_range, user_errors


@click.command()
@click.option("--exchange", help="Only this exchange id.")
@click.option("--symbol", help="Only this symbol, e.g. BTC/USDT.")
@click.option("--timeframe", help="Only this timeframe, e.g. 1h.")
@click.option("--start", help="First day or time to sync (UTC, inclusive).")
@click.option("--end", help="End of the range (UTC, exclusive); default now.")
@click.pass_context
@user_errors
def sync(
    ctx: click.Context,
    exchange: str | None,
    symbol: str | None,
    timeframe: str | None,
    start: str | None,
    end: str | None,
) -> None:
    """Materialize the matching candle assets for a range through Dagster."""
    from .backfill import sync_series  # Dagster and ccxt: paid only by the commands using them

    config = config_of(ctx)
    chosen = config.select(exchange, symbol, timeframe)
    start_ms, end_ms = time_range(start, end, start_required=True)
    failures = sync_series(config, chosen, start_ms, end_ms)
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    sys.exit(1 if failures else 0)
