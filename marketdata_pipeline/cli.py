"""The `marketdata` command line: simulate, sync, candles, series, status, sql, serve, chart."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import polars as pl

from .cli_serve import chart, serve
from .cli_sql import sql
from .cli_support import (
    UserError,
    config_of,
    emit,
    market_data_of,
    output_options,
    table,
    time_range,
    user_errors,
)
from .config import CONFIG_ENV
from .timeframes import from_ms, now_ms


@click.group()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_ENV,
    help=f"YAML config (default: ./marketdata.yaml, or ${CONFIG_ENV}).",
)
@click.pass_context
def main(ctx: click.Context, config_file: Path | None) -> None:
    """Collect crypto market data through ccxt into ArcticDB, orchestrated by Dagster."""
    ctx.obj = config_file


@main.command()
@click.option("--port", default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option("--weight-limit", default=6000, show_default=True, help="Request weight per minute.")
@click.option("--error-rate", default=0.0, help="Probability of a 500/502/503 answer.")
@click.option("--drop-rate", default=0.0, help="Probability of dropping the connection.")
@click.option("--malformed-rate", default=0.0, help="Probability of a malformed body.")
@click.option("--latency-ms", default=0.0, help="Latency added to every response.")
@user_errors
def simulate(
    port: int,
    weight_limit: int,
    error_rate: float,
    drop_rate: float,
    malformed_rate: float,
    latency_ms: float,
) -> None:
    """Serve a local Binance-compatible exchange for offline runs and tests."""
    from .simulator import Faults, Simulator, config_snippet

    faults = Faults(
        error_rate=error_rate,
        drop_rate=drop_rate,
        malformed_rate=malformed_rate,
        latency_ms=latency_ms,
    )
    sim = Simulator(port=port, weight_limit=weight_limit, faults=faults)
    try:
        sim.start()
    except OSError as e:
        raise UserError(
            f"cannot listen on 127.0.0.1:{port} ({e.strerror}); pick another --port"
        ) from None
    click.echo(f"exchange simulator on {sim.url}; point a connector at it with:\n")
    click.echo(config_snippet(sim.url))
    sim.serve_forever()


@main.command()
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
    from .sync import sync_series

    config = config_of(ctx)
    chosen = config.select(exchange, symbol, timeframe)
    start_ms, end_ms = time_range(start, end, start_required=True)
    failures = sync_series(config, chosen, start_ms, end_ms)
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    sys.exit(1 if failures else 0)


@main.command()
@click.argument("exchange")
@click.argument("symbol")
@click.argument("timeframe")
@click.option("--start", help="From this UTC date/time (inclusive).")
@click.option("--end", help="Up to this UTC date/time (exclusive); default now.")
@output_options(["csv", "json", "parquet"])
@click.option("--indicators", is_flag=True, help="Join RSI, EMA and MACD columns to the candles.")
@click.pass_context
@user_errors
def candles(
    ctx: click.Context,
    exchange: str,
    symbol: str,
    timeframe: str,
    start: str | None,
    end: str | None,
    fmt: str,
    output: Path | None,
    indicators: bool,
) -> None:
    """Print or save stored candles of one series, optionally with their indicators."""
    start_ms, end_ms = time_range(start, end, start_required=False)
    frame = market_data_of(ctx).candles(
        exchange, symbol, timeframe, start_ms and from_ms(start_ms), from_ms(end_ms), indicators
    )
    emit(frame, fmt, output)


@main.command()
@click.pass_context
@user_errors
def series(ctx: click.Context) -> None:
    """Every configured series with its stored first and last candle and row count."""
    frame = market_data_of(ctx).series()
    stamps = [pl.col(c).dt.strftime("%Y-%m-%d %H:%M").fill_null("-") for c in ("first", "last")]
    click.echo(table(frame.with_columns(*stamps, pl.col("start").cast(pl.String)).to_dicts()))


@main.command()
@click.pass_context
@user_errors
def status(ctx: click.Context) -> None:
    """Connectors' budgets and pools, then every series' freshness; exits 1 if any is stale."""
    from .instance import project_instance
    from .status import connector_rows, series_rows

    config = config_of(ctx)
    instance = project_instance(config)
    click.echo(table(connector_rows(config, instance)))
    rows = series_rows(config, instance, now_ms())
    click.echo("\n" + table(rows))
    stale = [r["series"] for r in rows if r["state"] == "stale"]
    if stale:
        click.echo(f"stale: {', '.join(stale)}", err=True)
        sys.exit(1)


for command in (sql, serve, chart):
    main.add_command(command)
