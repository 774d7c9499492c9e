"""`marketdata serve` (the HTTP API) and `marketdata chart`, added to the main group by cli.py.

FastAPI, uvicorn and matplotlib are imported inside the commands to keep the CLI quick to start.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import sys
from pathlib import Path

import click

from .support import (
    UserError,
    config_of,
    one_series,
    store_of,
    time_range,
    user_errors,
    writable,
    written,
)

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
    from uvicorn.config import STARTUP_FAILURE

    from ..access.api import create_app

    config = config_of(ctx)
    listening = listen(host, port)
    app = create_app(config)
    port = listening.getsockname()[1]  # the one the system picked for --port 0
    click.echo(f"marketdata API on http://{host}:{port} (docs at /docs)")
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
    server.run(sockets=[listening])
    if not server.started:  # uvicorn logged why, as `uvicorn.run` would
        sys.exit(STARTUP_FAILURE)


def listen(
    host: str, port: int, option: str = "--port", host_option: str = "--host"
) -> socket.socket:
    """The server's socket, bound here so a busy port is one line, not uvicorn's exit 3.

    uvicorn serves on this very socket, so nothing can take the port between the check and the
    start. SO_REUSEADDR is set (as uvicorn does) so a port left in TIME_WAIT is not "busy".
    """
    if not 0 <= port <= 65535:  # getaddrinfo would wrap it around
        raise UserError(f"{option} {port} is not a TCP port; pass one from 0 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with contextlib.ExitStack() as on_error:
            listening = on_error.enter_context(socket.socket(family, kind, proto))
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind(address)
            listening.listen()
            on_error.pop_all()
        return listening
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} is in use; pass {option}") from None
        raise UserError(
            f"cannot listen on {host}:{port} ({e.strerror or e}); pass {host_option} or {option}"
        ) from None


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
@click.option(
    "--book",
    is_flag=True,
    help="Add a pane of the market's spread and depth within 50 bps (its book metrics).",
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
    book: bool,
) -> None:
    """Draw candles with EMA 12/26, RSI and MACD of one stored series, and with --book the
    market's spread and depth near mid."""
    from ..access.chart import FORMATS, render_chart
    from ..access.markets import market_series
    from ..storage.schema import BOOK_METRICS, INDICATORS

    if output.suffix.lower() not in FORMATS:
        raise UserError(f"--output {output}: unsupported format; use a .png or .html file")
    writable(output)  # before reading anything
    config = config_of(ctx)
    series = one_series(config, exchange, symbol, timeframe)
    books = market_series(config, exchange, symbol, "order_book") if book else None
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
    metrics, drawn = None, ""
    if books is not None:
        metrics = store.read(books, start_ms, end_ms, library=BOOK_METRICS)
        if metrics.is_empty():
            raise UserError(
                f"no book metrics of {books.name} in the range; the asset"
                f" {books.exchange}/{books.market_slug}/book_metrics computes them a day at a"
                " time (materialize it in the Dagster UI) from the snapshots `marketdata"
                " stream` collects"
            )
        drawn = f", {metrics.height} book snapshots"
    title = f"{series.exchange} {series.symbol} {timeframe}"
    written(output, lambda path: render_chart(candles, indicators, title, path, metrics))
    click.echo(f"wrote {output} ({candles.height} candles{drawn})")
