"""`marketdata candles` and `marketdata series`: stored data, read without Dagster or ccxt."""

from __future__ import annotations

from pathlib import Path

import click

from ..timeframes import from_ms
from .support import emit, market_data_of, output_options, table, time_range, user_errors


@click.command()
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


@click.command()
@click.pass_context
@user_errors
def series(ctx: click.Context) -> None:
    """Every configured series with its stored first and last candle and row count."""
    import polars as pl

    frame = market_data_of(ctx).series()
    stamps = [pl.col(c).dt.strftime("%Y-%m-%d %H:%M").fill_null("-") for c in ("first", "last")]
    click.echo(table(frame.with_columns(*stamps, pl.col("start").cast(pl.String)).to_dicts()))
