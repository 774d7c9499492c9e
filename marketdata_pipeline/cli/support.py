"""What the `marketdata` commands share: one-line user errors, time ranges and output.

Every command module is imported for `marketdata --help`, so heavy libraries (polars, ArcticDB,
DuckDB, Dagster, ccxt) are imported inside the commands that use them, never at module level.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..config import ConfigError, LoadedConfig, Series, load_config
from ..timeframes import now_ms, parse_time

if TYPE_CHECKING:
    import polars as pl

    from ..storage.store import CandleStore


class UserError(Exception):
    """A mistake on the command line."""


def user_errors(command):
    """Turn user mistakes into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (ConfigError, UserError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        except OSError as e:  # a file the user named cannot be read or written
            click.echo(f"error: {e.filename or 'file'}: {e.strerror or e}", err=True)
            sys.exit(2)

    return wrapper


def parse_when(value: str | None, option: str) -> int | None:
    """A UTC date or ISO datetime as epoch ms; naive values are taken as UTC."""
    try:
        return parse_time(value, option)
    except ValueError as e:
        raise UserError(str(e)) from None


def time_range(
    start: str | None, end: str | None, *, start_required: bool
) -> tuple[int | None, int]:
    start_ms = parse_when(start, "--start")
    end_ms = parse_when(end, "--end") or now_ms()
    if start_required and start_ms is None:
        raise UserError("--start is required (a UTC date such as 2024-01-01)")
    if start_ms is not None and start_ms >= end_ms:
        raise UserError(
            f"--start {start} is not before --end {end or 'now'}; --start is inclusive, --end exclusive"
        )
    return start_ms, end_ms


def config_of(ctx: click.Context) -> LoadedConfig:
    return load_config(ctx.obj)


def store_of(config: LoadedConfig) -> CandleStore:
    from ..storage.store import store_for

    return store_for(config)


def market_data_of(ctx: click.Context):
    from ..access.market_data import MarketData

    return MarketData(config_of(ctx).path)


def writable(output: Path) -> Path:
    """`output` if its folder exists, else a UserError naming the path and the fix."""
    if not output.parent.is_dir():
        raise UserError(
            f"--output {output}: folder {output.parent} does not exist; create it or write elsewhere"
        )
    return output


def written(output: Path, write) -> None:
    """Run `write(output)`; a refusal (permissions, a folder in the way) is one UserError line."""
    try:
        write(writable(output))
    except OSError as e:
        raise UserError(
            f"--output {output}: cannot write ({e.strerror or e}); choose a path you can write"
        ) from None


def emit(frame: pl.DataFrame, fmt: str, output: Path | None) -> None:
    """Write a result as an aligned table, csv, json (a list of row objects) or parquet."""
    if fmt == "parquet":
        if output is None:
            raise UserError("--format parquet needs --output FILE")
        written(output, frame.write_parquet)
        return
    if fmt == "csv" and any(d.is_nested() for d in frame.dtypes):
        raise UserError("csv cannot hold list or struct columns; use --format json or parquet")
    if fmt == "table":
        rows = [{k: "null" if v is None else v for k, v in r.items()} for r in frame.to_dicts()]
        text = (table(rows) if rows else "  ".join(frame.columns) + "\n(0 rows)") + "\n"
    else:
        text = frame.write_csv() if fmt == "csv" else frame.write_json() + "\n"
    if output:
        written(output, lambda path: path.write_text(text))
    else:
        click.echo(text, nl=False)


def one_series(config: LoadedConfig, exchange: str, symbol: str, timeframe: str) -> Series:
    return config.select(exchange, symbol, timeframe)[0]


def table(rows: list[dict]) -> str:
    """Rows as aligned text columns."""
    if not rows:
        return "no series configured"
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in rows[0]}
    lines = ["  ".join(c.ljust(w) for c, w in widths.items())]
    lines += ["  ".join(str(v).ljust(widths[c]) for c, v in row.items()) for row in rows]
    return "\n".join(lines)


def output_options(formats: list[str]):
    """`--format` (the first of `formats` by default) and `--output` for a command's result."""

    def decorate(command):
        command = click.option(
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write to a file instead of stdout.",
        )(command)
        return click.option(
            "--format", "fmt", type=click.Choice(formats), default=formats[0], show_default=True
        )(command)

    return decorate
