"""`marketdata serve` (the HTTP API) and `marketdata chart`, added to the main group by cli.py.

FastAPI, uvicorn and matplotlib are imported inside the commands to keep the CLI quick to start.
"""

from __future__ import annotations

from pathlib import Path

import click

from .support import UserError, config_of, one_series, store_of, time_range, user_errors

# Without --start, a chart shows the last this many stored candles before --end.
DEFAULT_CHART_CANDLES = 300


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, help="TCP port.")
@click.pass_context
@user_errors
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the read-only HTTP API (candles, indicators, freshness, health; docs at /docs)."""
    import uvicorn

    from ..access.api import create_app

    app = create_app(config_of(ctx))
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
@user_errors
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
    from ..access.chart import FORMATS, render_chart
    from ..storage.schema import INDICATORS

    if output.suffix.lower() not in FORMATS:
        raise UserError(f"--output {output}: unsupported format; use a .png or .html file")
    config = config_of(ctx)
    series = one_series(config, exchange, symbol, timeframe)
    start_ms, end_ms = time_range(start, end, start_required=False)
    store = store_of(config)
    if start_ms is None:
        last_ms = store.summary(series).last_ms
        if last_ms is not None:
            end_ms = min(end_ms, last_ms + series.timeframe.ms)
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
