"""`marketdata sql`: one DuckDB query over every stored series, printed or saved."""

from __future__ import annotations

from pathlib import Path

import click

from .support import UserError, config_of, emit, output_options, store_of, user_errors


@click.command()
@click.argument("query")
@output_options(["table", "csv", "json", "parquet"])
@click.pass_context
@user_errors
def sql(ctx: click.Context, query: str, fmt: str, output: Path | None) -> None:
    """Run QUERY over the tables `candles`, `indicators`, `trades`, `trade_candles`,
    `order_books`, `book_metrics` and `tickers`.

    They have the columns exchange, symbol, timeframe (candles only) and a time (open_time;
    trades: timestamp; books, metrics, tickers: local_timestamp), in UTC; filtering on them
    reads only the matching series and time range, e.g.

    marketdata sql "SELECT date_trunc('day', open_time) AS day, max(high) FROM candles
    WHERE symbol = 'BTC/USDT' AND timeframe = '1m' AND open_time >= '2024-01-01'
    AND open_time < '2024-02-01' GROUP BY day ORDER BY day"
    """
    from ..access.duck import SqlError
    from ..access.sql import run_sql

    config = config_of(ctx)
    try:
        frame = run_sql(store_of(config), config, query).frame
    except SqlError as e:  # sql.py stays free of the CLI; user_errors reports UserError
        raise UserError(str(e)) from None
    emit(frame, fmt, output)
