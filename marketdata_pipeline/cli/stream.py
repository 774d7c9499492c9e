"""`marketdata stream`: the long-lived collector: WebSocket streams for markets with
`stream: true`, REST polling of order books and tickers for the others."""

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
    """Stream markets with `stream: true` (trades, books, tickers, candles) and poll the order
    books and tickers of the others, until stopped; what is held is written on exit."""
    from ..exchange.quirks import RAW_TRADES
    from ..streaming.service import StreamService
    from .preflight import check_markets

    config = config_of(ctx)
    candidates = [s for s in config.all_series if config.streamed(s) or s in config.polled_series]
    chosen = [
        s
        for s in candidates
        if exchange in (None, s.exchange) and (symbol is None or symbol.upper() == s.symbol.upper())
    ]
    if not chosen:
        raise UserError(
            "nothing to stream: no market matching the filters has `stream: true`,"
            " `order_book:` or `ticker: true` in the config"
        )
    if unrepairable := [s for s in chosen if s.data == "trades" and s.exchange not in RAW_TRADES]:
        s = unrepairable[0]
        raise UserError(
            f"{s.exchange} {s.symbol}: streamed trades are repaired by id after a disconnect,"
            f" which marketdata can do on {', '.join(sorted(RAW_TRADES))} only; set"
            " `trades: false` on this market to stream its books, tickers and candles, and"
            " let `marketdata sync --data trades` collect its trades"
        )
    if failures := check_markets(config, chosen):
        raise UserError(failures[0])
    say = lambda line: click.echo(line, err=True)  # noqa: E731
    if metrics_port is not None:
        from ..ops.exporters import serve_metrics, stream_registry

        listening = listen(metrics_host, metrics_port, "--metrics-port", "--metrics-host")
        serve_metrics(stream_registry(config), listening)
        say(f"metrics on http://{metrics_host}:{listening.getsockname()[1]}/metrics")
    service = StreamService(config, chosen, store_of(config), say)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if for_seconds:
            loop.call_later(for_seconds, stop.set)
        await service.run(stop)

    streamed = [s.name for s in chosen if config.streamed(s)]
    polled = [s.name for s in chosen if not config.streamed(s)]
    say(
        f"collecting: streaming {len(streamed)} series ({', '.join(streamed) or 'none'}) and polling"
        f" {len(polled)} ({', '.join(polled) or 'none'}); stop with Ctrl-C"
    )
    asyncio.run(run())
    total = sum(service.written.values())
    click.echo(f"stored {total} rows of {len(service.written)} series")
    if service.lost:  # not a clean stop: a supervisor restarts it
        click.echo(f"error: {service.lost[0]}", err=True)
        ctx.exit(1)
