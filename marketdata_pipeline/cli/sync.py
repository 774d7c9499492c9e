"""`marketdata sync`: backfill the matching series for a range, through Dagster."""

from __future__ import annotations

import sys

import click

from ..timeframes import from_ms, now_ms
from .support import UserError, config_of, store_of, time_range, user_errors


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
    from .plan import nothing_to_sync, plan, windows_overlap  # the store: only when syncing

    config = config_of(ctx)
    chosen = config.select(exchange, symbol, timeframe)
    start_ms, end_ms = time_range(start, end, start_required=True)
    store, now = store_of(config), now_ms()
    plans = [
        plan(store, s, start_ms, end_ms, now, config.connector(s.exchange).settle_seconds)
        for s in chosen
    ]
    outside = [p.series for p in plans if not windows_overlap(p.series, start_ms, end_ms, now)]
    if len(outside) == len(plans):
        raise UserError(nothing_to_sync(outside[0]))
    for p in plans:
        if p.first is None and p.series not in outside:
            click.echo(
                f"nothing to fetch for {p.series.name}: {from_ms(start_ms):%Y-%m-%d} on is complete"
            )
    todo = [p for p in plans if p.first is not None]
    if not todo:
        return
    from .backfill import sync_series  # Dagster and ccxt: paid only when there is work

    failures = sync_series(config, todo)
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    sys.exit(1 if failures else 0)
