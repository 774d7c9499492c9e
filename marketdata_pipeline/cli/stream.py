"""`marketdata stream`: the long-lived collector of order books and tickers."""

from __future__ import annotations

import asyncio
import signal

import click

from .serve import listen
from .support import UserError, config_of, store_of, user_errors


@click.command()
@click.option("--exchange", help="Only this exchange id.")
@click.option("--symbol", help="Only this symbol, e.g. BTC/USDT.")
@click.option(
    "--for",
    "for_seconds",
    type=click.FloatRange(min=1),
    help="Stop after this many seconds (default: until SIGTERM or Ctrl-C).",
)
@click.option(
    "--metrics-port",
    type=int,
    help="Serve the streams' Prometheus metrics on this port at /metrics (0: any free port).",
)
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, help="Interface of --metrics-port."
)
@click.pass_context
@user_errors
def stream(
    ctx: click.Context,
    exchange: str | None,
    symbol: str | None,
    for_seconds,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Collect order books and tickers until stopped; buffered snapshots are written on exit."""
    from ..streaming.collector import Collector
    from .preflight import check_markets

    config = config_of(ctx)
    chosen = [
        s
        for s in config.polled_series
        if exchange in (None, s.exchange) and (symbol is None or symbol.upper() == s.symbol.upper())
    ]
    if not chosen:
        raise UserError(
            "nothing to stream: no market matching the filters has `order_book:` or"
            " `ticker: true` in the config"
        )
    if failures := check_markets(config, chosen):
        raise UserError(failures[0])
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    if metrics_port is not None:
        from ..ops.exporters import serve_metrics, stream_registry

        listening = listen(metrics_host, metrics_port, "--metrics-port", "--metrics-host")
        serve_metrics(stream_registry(config), listening)
        say(f"metrics on http://{metrics_host}:{listening.getsockname()[1]}/metrics")
    collector = Collector(config, chosen, store_of(config), say)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if for_seconds:
            loop.call_later(for_seconds, stop.set)
        await collector.run(stop)

    books = sum(s.data == "order_book" for s in chosen)
    say(
        f"collecting {books} order books and {len(chosen) - books} tickers"
        f" ({', '.join(s.name for s in chosen)}); stop with Ctrl-C"
    )
    asyncio.run(run())
    total = sum(collector.stored.values())
    click.echo(f"stored {total} snapshots of {len(collector.stored)} series")
