"""`marketdata candles`, `trades`, `books`, `tickers` and `series`: stored data, read without
Dagster or ccxt."""

from __future__ import annotations

from pathlib import Path

import click

from ..timeframes import from_ms
from .support import (
    UserError,
    emit,
    market_data_of,
    output_options,
    table,
    time_range,
    user_errors,
)


@click.command()
@click.argument("exchange")
@click.argument("symbol")
@click.argument("timeframe")
@click.option("--start", help="From this UTC date/time (inclusive).")
@click.option("--end", help="Up to this UTC date/time (exclusive); default now.")
@output_options(["csv", "json", "parquet"])
@click.option("--indicators", is_flag=True, help="Join RSI, EMA and MACD columns to the candles.")
@click.option(
    "--from-trades", is_flag=True, help="The candles built from the market's stored trades."
)
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
    from_trades: bool,
) -> None:
    """Print or save stored candles of one series, optionally with their indicators, or the
    candles built from its trades (--from-trades)."""
    if indicators and from_trades:
        raise UserError(
            "--indicators belong to the exchange's candles, not to those built from trades;"
            " drop one of --indicators and --from-trades"
        )
    start_ms, end_ms = time_range(start, end, start_required=False)
    frame = market_data_of(ctx).candles(
        exchange,
        symbol,
        timeframe,
        start_ms and from_ms(start_ms),
        from_ms(end_ms),
        indicators,
        from_trades,
    )
    emit(frame, fmt, output)


def _market_rows(name: str, start_help: str, doc: str) -> click.Command:
    """A command printing or saving one market's stored rows (`MarketData.<name>`)."""

    @click.command(name=name, help=doc)
    @click.argument("exchange")
    @click.argument("symbol")
    @click.option("--start", help=f"From this UTC date/time (inclusive){start_help}.")
    @click.option("--end", help="Up to this UTC date/time (exclusive); default now.")
    @output_options(["csv", "json", "parquet"])
    @click.pass_context
    @user_errors
    def command(ctx, exchange, symbol, start, end, fmt: str, output: Path | None) -> None:
        start_ms, end_ms = time_range(start, end, start_required=False)
        rows = getattr(market_data_of(ctx), name)
        emit(rows(exchange, symbol, start_ms and from_ms(start_ms), from_ms(end_ms)), fmt, output)

    return command


trades = _market_rows(
    "trades", "", "Print or save the stored trades of one market (one with `trades: true`)."
)
tickers = _market_rows(
    "tickers",
    ", by receive time",
    "Print or save the stored 24-hour tickers of one market (one with `ticker: true`).",
)


@click.command()
@click.argument("exchange")
@click.argument("symbol")
@click.option("--start", help="From this UTC date/time (inclusive), by receive time.")
@click.option("--end", help="Up to this UTC date/time (exclusive); default now.")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    help="Keep levels 0..N-1 of each side (default: every configured level; 0: none).",
)
@click.option(
    "--metrics",
    is_flag=True,
    help="Add each snapshot's spread, microprice, imbalance and depth (null until computed).",
)
@output_options(["csv", "json", "parquet"])
@click.pass_context
@user_errors
def books(
    ctx: click.Context,
    exchange: str,
    symbol: str,
    start: str | None,
    end: str | None,
    depth: int | None,
    metrics: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Print or save the stored order book snapshots of one market (one with `order_book:` in
    the config), one row per snapshot."""
    from ..access.books import BookDepthError

    start_ms, end_ms = time_range(start, end, start_required=False)
    md = market_data_of(ctx)
    try:
        frame = md.order_book(
            exchange, symbol, start_ms and from_ms(start_ms), from_ms(end_ms), depth, metrics
        )
    except BookDepthError as e:
        raise UserError(f"--{e}") from None
    emit(frame, fmt, output)


@click.command()
@click.pass_context
@user_errors
def series(ctx: click.Context) -> None:
    """Every configured series (candles, then trades, order books and tickers) with its stored
    first and last candle, trade or snapshot and row count."""
    import polars as pl

    frame = market_data_of(ctx).series()
    stamps = [pl.col(c).dt.strftime("%Y-%m-%d %H:%M").fill_null("-") for c in ("first", "last")]
    texts = [pl.col("timeframe").fill_null("-"), pl.col("start").cast(pl.String)]
    click.echo(table(frame.with_columns(*stamps, *texts).to_dicts()))
