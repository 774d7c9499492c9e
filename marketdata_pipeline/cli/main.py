"""The `marketdata` command line: simulate, sync, stream, candles, trades, books, tickers,
series, status, sql, serve, chart, connectors, markets, pools."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import CONFIG_ENV
from .connectors import connectors
from .markets import markets
from .pools import pools
from .read import books, candles, series, tickers, trades
from .serve import chart, serve
from .simulate import simulate
from .sql import sql
from .status import status
from .stream import stream
from .sync import sync


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


COMMANDS = (simulate, sync, stream, candles, trades, books, tickers, series, status, sql, serve)
for command in (*COMMANDS, chart, connectors, markets, pools):
    main.add_command(command)
