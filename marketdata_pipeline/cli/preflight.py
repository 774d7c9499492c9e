"""What `marketdata sync` checks before it starts a run: a range that misses a series, or a symbol
the exchange does not list, is a user mistake (one line, exit 2), not a run that does nothing
or fails with Dagster's stack traces."""

from __future__ import annotations

import asyncio
from itertools import groupby

import click

from ..config import LoadedConfig, Series
from ..exchange.errors import FetchError
from ..exchange.resource import exchange_resource_key, exchange_resources
from ..timeframes import from_ms
from .support import UserError


def in_range(chosen: list[Series], start_ms: int, end_ms: int, now_ms: int) -> list[Series]:
    """The series that [start, end) overlaps; the others are named on stderr, and if none is
    left that is a mistake."""
    if start_ms >= now_ms:
        raise UserError(
            f"nothing to sync: --start {from_ms(start_ms):%Y-%m-%d %H:%M} is in the future"
        )
    kept = [s for s in chosen if end_ms > s.start_ms]
    missed = [
        f"{s.exchange} {s.symbol} {s.timeframe.name} starts {s.start}"
        for s in chosen
        if s not in kept
    ]
    if not kept:
        raise UserError(f"nothing to sync: {'; '.join(missed)}")
    for line in missed:
        click.echo(f"note: skipped {line}, after --end {from_ms(end_ms):%Y-%m-%d %H:%M}", err=True)
    return kept


def check_markets(config: LoadedConfig, chosen: list[Series]) -> list[str]:
    """Raise on a symbol or timeframe the exchange does not list; return the exchanges whose
    markets could not be loaded (their runs would fail the same way)."""
    resources = exchange_resources(config)

    async def check(exchange: str, members: list[Series]) -> str | None:
        try:
            client = resources[exchange_resource_key(exchange)].client()
            async with client:
                for series in members:
                    try:
                        client.check_market(series)
                    except FetchError as e:
                        raise UserError(f"{config.path.name}: {e}") from None
        except FetchError as e:
            return str(e)
        return None

    async def check_all() -> list[str]:
        by_exchange = groupby(sorted(chosen, key=lambda s: s.exchange), key=lambda s: s.exchange)
        found = await asyncio.gather(*(check(e, list(m)) for e, m in by_exchange))
        return [f for f in found if f]

    return asyncio.run(check_all())
