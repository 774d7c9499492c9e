"""`marketdata sync`: backfill the matching series for a range, through Dagster."""

from __future__ import annotations

import sys

import click

from ..config import ConfigError
from ..storage.complete import CompleteRanges
from ..timeframes import from_ms, now_ms
from .ranges import in_range, plan_key
from .support import UserError, config_of, store_of, time_range, user_errors

KINDS = ("candles", "trades")


def _kinds(data: str) -> set[str]:
    kinds = {k.strip().lower() for k in data.split(",") if k.strip()}
    if not kinds or kinds - set(KINDS):
        raise UserError(f"--data {data!r}: use a comma-separated list of {', '.join(KINDS)}")
    return kinds


@click.command()
@click.option("--exchange", help="Only this exchange id.")
@click.option("--symbol", help="Only this symbol, e.g. BTC/USDT.")
@click.option("--timeframe", help="Only this timeframe, e.g. 1h.")
@click.option("--start", help="First day or time to sync (UTC, inclusive).")
@click.option("--end", help="End of the range (UTC, exclusive); default now.")
@click.option(
    "--data",
    default="candles,trades",
    show_default=True,
    help="What to sync, comma-separated: candles, trades (markets with `trades: true`).",
)
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
    data: str,
    wait_timeout: float,
) -> None:
    """Materialize the matching candle and trade assets for a range through Dagster."""
    config = config_of(ctx)
    kinds = _kinds(data)
    start_ms, end_ms = time_range(start, end, start_required=True)
    chosen: list = []
    if "trades" in kinds:
        try:
            chosen += config.select_trades(exchange, symbol)
        except ConfigError:
            if kinds == {"trades"}:  # asked for trades alone: none is a mistake
                raise
    if "candles" in kinds:
        chosen += config.select(exchange, symbol, timeframe)
    chosen = in_range(chosen, start_ms, end_ms, now_ms())
    known = CompleteRanges.for_storage(config.storage_uri)

    def nothing(s) -> str:
        return f"nothing to fetch for {s.name}: {from_ms(start_ms):%Y-%m-%d} on is complete"

    def key(s, now: int) -> str:
        return plan_key(s, start_ms, end_ms, now, config.connector(s.exchange).settle_seconds)

    now = now_ms()
    if known and known.known([key(s, now) for s in chosen]):  # no ArcticDB, pandas or polars
        for s in chosen:
            click.echo(nothing(s))
        return
    from .plan import plan, plan_trades  # the store only: a complete range needs no more

    def planned(s, store, now: int):
        how = plan_trades if s.data == "trades" else plan
        return how(store, s, start_ms, end_ms, now, config.connector(s.exchange).settle_seconds)

    def plans_of(series: list, now: int) -> list:
        """Plans from a fresh view of the store; the complete ones are remembered."""
        version, store = known.version() if known else None, store_of(config)
        plans = [planned(s, store, now) for s in series]
        if known:
            known.record([key(p.series, now) for p in plans if p.first is None], version)
        return plans

    plans = plans_of(chosen, now)
    for p in plans:
        if p.first is None:
            click.echo(nothing(p.series))
    todo = [p for p in plans if p.first is not None]
    if not todo:
        return
    # Dagster and ccxt: paid only when there is work
    from ..ops.guard import SyncGuard
    from ..ops.heal import heal_dead_runs
    from ..ops.instance import project_instance
    from .backfill import sync_series
    from .preflight import check_markets

    instance = project_instance(config)
    for healed in heal_dead_runs(instance):
        click.echo(f"healed: {healed}", err=True)

    def work() -> list[str]:
        if failures := check_markets(config, [p.series for p in todo]):
            return failures
        # Trades first: the candles built from them are planned from what they completed.
        trades = [p for p in todo if p.series.data == "trades"]
        failures = sync_series(config, trades) if trades else []
        candles = [p for p in todo if p.series.data != "trades"]
        if trades:
            store = store_of(config)
            candles = [
                p for s in chosen if s.data != "trades" if (p := planned(s, store, now_ms())).first
            ]
        return failures + (sync_series(config, candles) if candles else [])

    guard = SyncGuard(instance, [c.id for c in config.connectors], wait_timeout)
    failures = guard.run(work)
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    if not failures:
        plans_of(chosen, now_ms())  # remembered complete: the next sync of the range is free
    sys.exit(1 if failures else 0)
