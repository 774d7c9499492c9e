"""What `marketdata sync` checks before it starts a run: a symbol or timeframe the exchange does
not list is a user mistake (one line, exit 2), not a run that fails with Dagster's stack traces.
(A range that misses a series is caught earlier, from the config alone: `plan.in_range`.)"""

from __future__ import annotations

import asyncio
from itertools import groupby

from ..config import LoadedConfig, Series
from ..exchange.errors import FetchError
from ..exchange.resource import exchange_resource_key, exchange_resources
from .support import UserError


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
