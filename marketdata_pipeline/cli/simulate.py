"""`marketdata simulate`: the local exchange simulator, for offline runs and tests."""

from __future__ import annotations

import click

from .support import UserError, user_errors


@click.command()
@click.option(
    "--exchange",
    default="binance",
    show_default=True,
    type=click.Choice(["binance", "okx"]),
    help="Wire protocol: Binance's spot API or OKX v5's; same markets and candles.",
)
@click.option("--port", default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--weight-limit", default=6000, show_default=True, help="Binance's request weight per minute."
)
@click.option("--error-rate", default=0.0, help="Probability of a 500/502/503 answer.")
@click.option("--drop-rate", default=0.0, help="Probability of dropping the connection.")
@click.option("--malformed-rate", default=0.0, help="Probability of a malformed body.")
@click.option("--latency-ms", default=0.0, help="Latency added to every response.")
@click.option(
    "--trades-per-minute",
    default=600,
    show_default=True,
    type=click.IntRange(12, 100_000),
    help="Mean raw trades per minute in every market (aggTrades are about 70% of them).",
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.0, min_open=True),
    help="Run the exchange's clock this many times faster than real time (REST and streams).",
)
@user_errors
def simulate(
    exchange: str,
    port: int,
    weight_limit: int,
    error_rate: float,
    drop_rate: float,
    malformed_rate: float,
    latency_ms: float,
    trades_per_minute: int,
    speed: float,
) -> None:
    """Serve a local Binance- or OKX-compatible exchange for offline runs and tests."""
    from ..simulator import Faults, Simulator, config_snippet

    faults = Faults(
        error_rate=error_rate,
        drop_rate=drop_rate,
        malformed_rate=malformed_rate,
        latency_ms=latency_ms,
    )
    sim = Simulator(
        port=port,
        weight_limit=weight_limit,
        faults=faults,
        trades_per_minute=trades_per_minute,
        exchange=exchange,
        speed=speed,
    )
    try:
        sim.start()
    except OSError as e:
        raise UserError(
            f"cannot listen on 127.0.0.1:{port} ({e.strerror}); pick another --port"
        ) from None
    click.echo(f"{exchange} simulator on {sim.url}; point a connector at it with:\n")
    click.echo(config_snippet(sim.url, exchange))
    sim.serve_forever()
