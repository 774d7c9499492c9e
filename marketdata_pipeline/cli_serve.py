"""`marketdata serve` (the HTTP API) and `marketdata chart`, added to the main group by cli.py.

cli.py imports this module to register the commands, so names from cli are looked up when a
command runs: importing them here at load time would make the two modules import each other.
FastAPI, uvicorn and matplotlib are imported inside the commands to keep the CLI quick to start.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

# Without --start, a chart shows the last this many stored candles before --end.
DEFAULT_CHART_CANDLES = 300


def _user_errors(command):
    """cli.user_errors, resolved at call time (see the module docstring)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from .cli import user_errors

        return user_errors(command)(*args, **kwargs)

    return wrapper


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, help="TCP port.")
@click.pass_context
@_user_errors
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the read-only HTTP API (candles, indicators, freshness, health; docs at /docs)."""
    import uvicorn

    from .api import create_app
    from .cli import _config

    app = create_app(_config(ctx))
    click.echo(f"marketdata API on http://{host}:{port} (docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="info")


@click.command()
@click.argument("exchange")
@click.argument("symbol")
@click.argument("timeframe")
@click.option(
    "--start",
    help=f"From this UTC date/time; default: the last {DEFAULT_CHART_CANDLES} stored candles.",
)
@click.option("--end", help="Up to this UTC date/time (exclusive); default now.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .png file, or .html with the image inline.",
)
@click.pass_context
@_user_errors
def chart(
    ctx: click.Context,
    exchange: str,
    symbol: str,
    timeframe: str,
    start: str | None,
    end: str | None,
    output: Path,
) -> None:
    """Draw candles with EMA 12/26, RSI and MACD of one stored series."""
    from .chart import FORMATS, render_chart
    from .cli import UserError, _config, _one_series, _store, time_range
    from .indicator_assets import INDICATORS

    if output.suffix.lower() not in FORMATS:
        raise UserError(f"--output {output}: unsupported format; use a .png or .html file")
    config = _config(ctx)
    series = _one_series(config, exchange, symbol, timeframe)
    start_ms, end_ms = time_range(start, end, start_required=False)
    store = _store(config)
    if start_ms is None:
        last = store.summary(series).last
        if last is not None:
            end_ms = min(end_ms, last.value // 1_000_000 + series.timeframe.ms)
        start_ms = end_ms - DEFAULT_CHART_CANDLES * series.timeframe.ms
    candles = store.read(series, start_ms, end_ms)
    if candles.is_empty():
        raise UserError(
            f"no candles of {series.name} in the range; see `marketdata series`"
            " or fetch them with `marketdata sync`"
        )
    indicators = store.read(series, start_ms, end_ms, library=INDICATORS)
    render_chart(candles, indicators, f"{series.exchange} {series.symbol} {timeframe}", output)
    click.echo(f"wrote {output} ({candles.height} candles)")
