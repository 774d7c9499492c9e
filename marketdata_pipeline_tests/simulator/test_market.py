import time

import numpy as np
import pytest

from marketdata_pipeline.simulator import Simulator
from marketdata_pipeline.simulator.market import minute_candles
from marketdata_pipeline.simulator.symbols import DEFAULT_SYMBOLS, make_spec, make_specs

from .conftest import HOUR, MINUTE, NOW_MS, FakeClock, make_exchange

SPECS = make_specs()
NOW_MINUTE = NOW_MS // MINUTE


@pytest.mark.parametrize("market_id", list(SPECS))
def test_candle_invariants(market_id: str) -> None:
    spec = SPECS[market_id]
    c = minute_candles(spec, NOW_MINUTE - 20_000, NOW_MINUTE)
    assert np.all(c.low >= 1)
    assert np.all(c.high >= np.maximum(c.open, c.close))
    assert np.all(c.low <= np.minimum(c.open, c.close))
    assert np.array_equal(c.open[1:], c.close[:-1])
    assert np.all(c.volume > 0) and np.all(c.trades > 0) and np.all(c.quote_volume > 0)
    assert np.all(c.taker_base <= c.volume) and np.all(c.taker_quote <= c.quote_volume)
    vwap = c.quote_volume / spec.quote_units / (c.volume * spec.volume_quantum)
    price = c.close / 10**spec.price_decimals
    assert np.all(np.abs(vwap / price - 1) < 0.01)


def test_prices_are_plausible() -> None:
    btc = SPECS["BTCUSDT"]
    c = minute_candles(btc, NOW_MINUTE - 525_600, NOW_MINUTE)
    price = c.close / 100
    assert 10_000 < price.min() < price.max() < 400_000
    minute_returns = np.diff(np.log(price))
    assert 1e-4 < minute_returns.std() < 5e-3
    shib = SPECS["SHIBUSDT"]
    assert 1e-6 < minute_candles(shib, NOW_MINUTE - 10, NOW_MINUTE).close[0] / 1e8 < 1e-4


def test_any_range_is_a_slice_of_a_larger_range() -> None:
    spec = SPECS["ETHUSDT"]
    big = minute_candles(spec, NOW_MINUTE - 5_000, NOW_MINUTE)
    small = minute_candles(spec, NOW_MINUTE - 3_000, NOW_MINUTE - 2_000)
    for name, column in small.columns().items():
        assert np.array_equal(column, getattr(big, name)[2_000:3_000]), name


def test_markets_differ_and_custom_specs_work() -> None:
    a = minute_candles(SPECS["BTCUSDT"], NOW_MINUTE - 100, NOW_MINUTE)
    b = minute_candles(SPECS["ETHUSDT"], NOW_MINUTE - 100, NOW_MINUTE)
    assert not np.array_equal(a.close, b.close)
    custom = make_spec("FOO/USDT", {"listing": "2024-01-01T00:00", "price": 5.0, "volume": 10.0})
    assert custom.market_id == "FOO/USDT".replace("/", "")
    assert set(DEFAULT_SYMBOLS) >= {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"}


def test_thousand_minutes_take_a_few_milliseconds() -> None:
    spec = SPECS["BTCUSDT"]
    started = time.perf_counter()
    for page in range(20):
        minute_candles(spec, NOW_MINUTE - 1_000 * (page + 1), NOW_MINUTE - 1_000 * page)
    assert (time.perf_counter() - started) / 20 < 0.02


def test_a_delisted_market_stops_its_candles_and_stops_trading() -> None:
    delisting = NOW_MS // HOUR * HOUR - 2 * HOUR
    clock = FakeClock()
    symbols = {"BTC/USDT": {}, "OLD/USDT": {"listing": "2024-01-01T00:00", "delisting": delisting}}
    with Simulator(clock=clock, symbols=symbols) as sim:
        exchange = make_exchange(sim.url)
        markets = exchange.load_markets()
        assert (markets["OLD/USDT"]["active"], markets["BTC/USDT"]["active"]) == (False, True)
        since = delisting - 3 * MINUTE
        page = exchange.fetch_ohlcv("OLD/USDT", "1m", since=since, limit=10)
        assert [c[0] for c in page] == [since, since + MINUTE, since + 2 * MINUTE]
        assert exchange.fetch_ohlcv("OLD/USDT", "1m", since=delisting, limit=10) == []
        assert exchange.fetch_ohlcv("OLD/USDT", "1h", since=delisting - HOUR)[-1][0] == (
            delisting - HOUR
        )
        assert exchange.fetch_ohlcv("OLD/USDT", "1m", limit=1)[0][0] == delisting - MINUTE
        clock.now_ms = delisting - MINUTE  # before the delisting it was trading
        assert exchange.load_markets(reload=True)["OLD/USDT"]["active"] is True
