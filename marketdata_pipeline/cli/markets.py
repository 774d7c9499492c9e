"""`marketdata markets`: every configured market; `add` (an upsert), `remove`, `enable` and
`disable` edit the config (see `config.edit`)."""

from __future__ import annotations

from datetime import date

import click

from ..config import Market
from ..config.changes import MarketRequest, add_market, remove_market, set_market_enabled
from .edits import apply
from .reload import dagster_url_option
from .support import config_of, table, user_errors


@click.group(invoke_without_command=True)
@click.pass_context
@user_errors
def markets(ctx: click.Context) -> None:
    """List every configured market, enabled or not, and what it collects."""
    if ctx.invoked_subcommand is None:
        config = config_of(ctx)
        rows = [
            {
                "exchange": c.id,
                "symbol": m.symbol,
                "status": _status(c.enabled, m.enabled),
                "timeframes": ",".join(m.timeframes),
                "start": str(m.start),
                "collects": _collects(m),
            }
            for c in config.model.exchanges
            for m in c.markets
        ]
        click.echo(table(rows) if rows else "no markets configured; see `marketdata markets add`")


@markets.command("add")
@click.argument("exchange")
@click.argument("symbol")
@click.option("--timeframes", help="Comma-separated, e.g. 1m,1h (added to a market's own).")
@click.option("--start", help="First day to collect (UTC), YYYY-MM-DD.")
@click.option("--trades/--no-trades", default=None, help="Collect every trade.")
@click.option("--order-book", "depth", type=int, metavar="DEPTH", help="Book snapshots, levels.")
@click.option("--ticker/--no-ticker", default=None, help="Collect the 24-hour ticker.")
@dagster_url_option
@click.pass_context
@user_errors
def add(
    ctx: click.Context,
    exchange: str,
    symbol: str,
    timeframes: str | None,
    start: str | None,
    trades: bool | None,
    depth: int | None,
    ticker: bool | None,
    dagster_url: str,
) -> None:
    """Add the market SYMBOL (ccxt unified, e.g. BTC/USDT) of EXCHANGE, or update it: adding
    what exists changes nothing. The exchange is asked whether it lists SYMBOL."""
    from .market_check import check_listed  # imports ccxt, which listing commands do without

    exchange = exchange.lower()
    want = MarketRequest(symbol, _timeframes(timeframes), _day(start), trades, depth, ticker)

    def check(config) -> None:
        if warning := check_listed(config, exchange, symbol):
            click.echo(f"warning: {warning}", err=True)

    apply(ctx, lambda doc: add_market(doc, exchange, want), dagster_url, check=check)


@markets.command("remove")
@click.argument("exchange")
@click.argument("symbol")
@dagster_url_option
@click.pass_context
@user_errors
def remove(ctx: click.Context, exchange: str, symbol: str, dagster_url: str) -> None:
    """Remove the market from the config; its stored data is kept."""
    apply(ctx, lambda doc: remove_market(doc, exchange.lower(), symbol), dagster_url)


@markets.command("enable")
@click.argument("exchange")
@click.argument("symbol")
@dagster_url_option
@click.pass_context
@user_errors
def enable(ctx: click.Context, exchange: str, symbol: str, dagster_url: str) -> None:
    """Collect the market again."""
    apply(ctx, lambda doc: set_market_enabled(doc, exchange.lower(), symbol, True), dagster_url)


@markets.command("disable")
@click.argument("exchange")
@click.argument("symbol")
@dagster_url_option
@click.pass_context
@user_errors
def disable(ctx: click.Context, exchange: str, symbol: str, dagster_url: str) -> None:
    """Stop collecting the market (its settings and stored data are kept)."""
    apply(ctx, lambda doc: set_market_enabled(doc, exchange.lower(), symbol, False), dagster_url)


def _timeframes(value: str | None) -> list[str] | None:
    return [t.strip() for t in value.split(",") if t.strip()] if value is not None else None


def _day(value: str | None) -> date | str | None:
    """A date; anything else is left as text for the config's loader to reject in its words."""
    try:
        return date.fromisoformat(value) if value is not None else None
    except ValueError:
        return value


def _status(connector_enabled: bool, market_enabled: bool) -> str:
    if not connector_enabled:
        return "connector disabled"
    return "enabled" if market_enabled else "disabled"


def _collects(market: Market) -> str:
    parts = ["candles"]
    if market.trades:
        parts.append("trades")
    if market.order_book:
        parts.append(f"order_book({market.order_book.depth})")
    if market.ticker:
        parts.append("ticker")
    return ",".join(parts)
