"""Exchange quirks as data: recent-only candle endpoints and symbols named another way."""

from datetime import date
from types import SimpleNamespace

import pytest

from marketdata_pipeline.config import Connector, Series
from marketdata_pipeline.exchange.client import ExchangeClient, _close_to
from marketdata_pipeline.exchange.errors import FetchError
from marketdata_pipeline.timeframes import HOUR_MS, get_timeframe

NOW = 1_790_000_000_000  # 2026-09-21 14:13:20 UTC


def client(exchange: str) -> ExchangeClient:
    return ExchangeClient(Connector(id=exchange), budget=None)


def hourly(exchange: str) -> Series:
    return Series(exchange, "BTC/USD", get_timeframe("1h"), date(2020, 1, 1))


def test_kraken_candles_older_than_its_last_720_fail_naming_the_earliest():
    earliest = (NOW // HOUR_MS - 719) * HOUR_MS
    client("kraken").check_reach(hourly("kraken"), earliest, NOW)  # within reach
    with pytest.raises(FetchError) as failure:
        client("kraken").check_reach(hourly("kraken"), earliest - HOUR_MS, NOW)
    assert str(failure.value) == (
        "kraken serves only its latest 720 1h candles, from 2026-08-22 15:00 UTC;"
        " kraken/btc_usd/1h asks from 2026-08-22 14:00: set the market's start on or after that"
    )
    client("binance").check_reach(hourly("binance"), 0, NOW)  # binance keeps its history


MARKETS = SimpleNamespace(
    markets={
        "BTC/USD": {
            "symbol": "BTC/USD",
            "id": "XXBTZUSD",
            "base": "BTC",
            "quote": "USD",
            "info": {"altname": "XBTUSD"},
        },
        "ETH/USD": {
            "symbol": "ETH/USD",
            "id": "XETHZUSD",
            "base": "ETH",
            "quote": "USD",
            "info": {},
        },
        **{
            f"SOL/{quote}": {
                "symbol": f"SOL/{quote}",
                "id": f"SOL{quote}",
                "base": "SOL",
                "quote": quote,
            }
            for quote in ("USD", "USDT", "EUR", "GBP")
        },
    }
)


@pytest.mark.parametrize(
    "symbol, hint",
    [
        ("XBT/USD", " (did you mean BTC/USD?)"),  # the exchange's own name
        ("XXBTZ/USD", " (did you mean BTC/USD?)"),  # the exchange's market id
        ("BTC/EUR", " (did you mean BTC/USD?)"),  # another quote
        ("SOL/JPY", " (did you mean SOL/EUR, SOL/GBP, SOL/USD?)"),  # at most three, sorted
        ("ETHH/USD", " (did you mean ETH/USD?)"),  # a close base with the same quote
        ("ETHH/EUR", ""),  # a close base, but no market with that quote
        ("ETC/USD", ""),  # close, but another coin: no guess
        ("NOPE/USD", ""),
    ],
)
def test_an_unknown_symbol_names_what_was_probably_meant(symbol, hint):
    assert _close_to(symbol, MARKETS) == hint
