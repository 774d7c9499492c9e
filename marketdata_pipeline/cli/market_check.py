"""Whether the exchange lists a market being added, asked through the project's ExchangeClient
(the connector's ccxt settings and its shared request budget). An exchange that cannot be asked
does not block the edit: `marketdata sync` checks every symbol again before its runs."""

from __future__ import annotations

import asyncio
import difflib

from ..config import LoadedConfig, Series
from ..exchange.client import ExchangeClient
from ..exchange.errors import FetchError
from ..exchange.limits import shared_budget
from ..timeframes import TIMEFRAMES
from .support import UserError


def check_listed(config: LoadedConfig, exchange: str, symbol: str) -> str | None:
    """Raise UserError when the exchange answers and lacks the symbol (naming close matches) or
    one of its timeframes; return a warning when the exchange cannot be asked."""
    connector = next(c for c in config.model.exchanges if c.id == exchange)
    market = next(m for m in connector.markets if m.symbol.upper() == symbol.upper())
    one_try = connector.model_copy(update={"max_retries": 0})  # a check, not a sync: no backoff

    async def check() -> None:
        async with ExchangeClient(one_try, shared_budget(config, connector)) as client:
            listed = list(client.exchange.markets)
            if market.symbol not in listed:
                close = difflib.get_close_matches(market.symbol.upper(), listed, n=3)
                hint = (
                    f"close matches: {', '.join(close)}"
                    if close
                    else "use its ccxt unified symbol such as BTC/USDT"
                )
                raise UserError(f"{exchange} does not list symbol {market.symbol!r}; {hint}")
            for timeframe in market.timeframes:
                series = Series(exchange, market.symbol, TIMEFRAMES[timeframe], market.start)
                try:
                    client.check_market(series)
                except FetchError as e:
                    raise UserError(str(e)) from None

    try:
        asyncio.run(check())
    except FetchError as e:
        return f"could not check {market.symbol} with {exchange} ({e}); written unchecked"
    return None
