"""What the client does with each kind of exchange answer, counted request by request.

Empty pages, honest gaps, delisted markets, page sizes, markets and credentials, against the
simulator through real ccxt, without Dagster: every figure here is exact (retries and 429s:
test_client_retries).
"""

from __future__ import annotations

import asyncio
from datetime import date

import ccxt
import pytest

from marketdata_pipeline.config import Connector, Series
from marketdata_pipeline.coordination.sqlite_budget import SqliteBudget as RequestBudget
from marketdata_pipeline.exchange.client import ExchangeClient
from marketdata_pipeline.exchange.errors import FetchError
from marketdata_pipeline.exchange.limits import limits_for
from marketdata_pipeline.simulator import DEFAULT_SYMBOLS, Faults, Simulator, ccxt_config
from marketdata_pipeline.simulator.faults import FaultInjector
from marketdata_pipeline.timeframes import DAY_MS, Timeframe, get_timeframe, iso, now_ms

from ..conftest import day_ms, klines

M = 60_000


def series(symbol: str = "BTC/USDT") -> Series:
    return Series("binance", symbol, get_timeframe("1m"), date(2020, 1, 1))


def client(tmp_path, sim, backoff_base: float = 0.001, **settings) -> ExchangeClient:
    """A client with its own budget file; backoff short, so retries cost no time."""
    connector = Connector(id="binance", ccxt=ccxt_config(sim.url), **settings)
    limit = limits_for(connector)
    budget = RequestBudget(
        tmp_path / "budgets.sqlite", "binance", limit.weight, limit.period_seconds
    )
    return ExchangeClient(connector, budget, backoff_base=backoff_base)


def fetch(
    tmp_path, sim, span, symbol="BTC/USDT", faults=None, unified=False, timeframe="1m", **settings
):
    """fetch_range over `span` (faults switched on once the markets are loaded): the candles'
    open times, the client's figures and the simulator's klines requests. `unified`: through
    ccxt's fetch_ohlcv, as for an exchange without an entry in RAW_KLINES."""

    async def run():
        async with client(tmp_path, sim, **settings) as c:
            if unified:
                c._raw = None
            if faults:
                sim.set_faults(faults)
            try:
                s = Series("binance", symbol, get_timeframe(timeframe), date(2020, 1, 1))
                frame = await c.fetch_range(s, *span)
                return frame["open_time"].dt.epoch("ms").to_list(), c.stats
            except FetchError as e:
                return e, c.stats

    result, stats = asyncio.run(run())
    return result, stats, klines(sim)


def describe(lo: int, hi: int) -> str:
    return (
        f"binance/btc_usdt/1m [{iso(lo)[:16].replace('T', ' ')}, {iso(hi)[:16].replace('T', ' ')})"
    )


@pytest.mark.parametrize("outage_end", [1440, 1500], ids=["to-the-range-end", "past-it"])
def test_an_honest_gap_up_to_the_range_end_is_accepted_after_one_probe(
    tmp_path, simulator, outage_end
):
    """Maintenance from 16:40 to midnight or to 01:00 the next day: the exchange's next candle
    is at or after the range end, so the empty page of [16:40, 24:00) is the truth."""
    day = day_ms(3)
    outage = (day + 1000 * M, day + outage_end * M)
    times, stats, pages = fetch(
        tmp_path, simulator, (day, day + 1440 * M), faults=Faults(maintenance=(outage,))
    )
    assert times == [day + i * M for i in range(1000)]
    assert (stats.requests, stats.retries, pages) == (1 + 3, 0, 3)  # markets, 2 pages, 1 probe


@pytest.mark.parametrize("unified", [False, True], ids=["raw", "unified"])
def test_an_empty_page_of_an_active_market_with_nothing_after_it_is_retried_then_fails(
    tmp_path, simulator, unified
):
    """No candle since 100 minutes into the range, up to now, on a trading market: that empty
    page cannot be trusted (ccxt reads some bad bodies as [])."""
    lo = now_ms() // M * M - 200 * M
    hi = lo + 150 * M
    error, stats, pages = fetch(
        tmp_path,
        simulator,
        (lo, hi),
        faults=Faults(maintenance=((lo + 100 * M, day_ms(-1)),)),
        max_retries=2,
        unified=unified,
    )
    span = describe(lo + 100 * M, hi)
    assert str(error) == (
        f"binance {span}: gave up after 3 attempts: MalformedPage: an empty page for {span}"
    )
    # Markets, the first page, then three times the empty page and its probe.
    assert (stats.requests, stats.retries, pages) == (1 + 1 + 3 * 2, 2, 1 + 3 * 2)


@pytest.fixture(scope="module")
def delisting_simulator():
    """OLD/USDT stopped trading at 10:00 three days ago."""
    delisting = day_ms(3) + 600 * M
    symbols = {**DEFAULT_SYMBOLS, "OLD/USDT": {"listing": "2024-01-01", "delisting": delisting}}
    with Simulator(symbols=symbols) as sim:
        yield sim, delisting


def test_a_delisted_market_ends_at_its_last_candle(tmp_path, delisting_simulator):
    sim, delisting = delisting_simulator
    sim.reset_stats()
    day = day_ms(3)
    times, stats, pages = fetch(tmp_path, sim, (day, day + 1440 * M), symbol="OLD/USDT")
    assert times == [day + i * M for i in range(600)]
    # [00:00, 16:40): the 600 candles, an empty page and its probe; [16:40, 24:00): the same
    # empty page and probe. The market is not trading, so no empty page is retried.
    assert (stats.requests, stats.retries, pages) == (1 + 3 + 2, 0, 5)
    assert delisting == times[-1] + M


def test_pages_are_the_smaller_of_the_config_and_the_exchange_limit(tmp_path, simulator):
    day = day_ms(3)
    times, stats, pages = fetch(tmp_path, simulator, (day, day + 1440 * M), page_size=5000)
    assert (len(times), stats.requests, pages) == (1440, 1 + 2, 2)  # ccxt says 1000 at most
    simulator.reset_stats()
    times, stats, pages = fetch(tmp_path, simulator, (day, day + 1440 * M), page_size=500)
    assert (len(times), stats.requests, stats.weight, pages) == (1440, 1 + 3, 20 + 3 * 2, 3)


@pytest.mark.parametrize(("timeframe", "step"), [("1m", M), ("1h", 60 * M)])
def test_exchanges_without_a_raw_endpoint_page_through_ccxt_fetch_ohlcv(
    tmp_path, simulator, timeframe, step
):
    """The unified path (every exchange but Binance's): the same candles, no extra columns."""
    day = day_ms(60)
    span = (day, day + 1440 * step)  # 1440 candles: two pages
    times, stats, pages = fetch(tmp_path, simulator, span, unified=True, timeframe=timeframe)
    assert times == [day + i * step for i in range(1440)]
    assert (stats.requests, pages) == (1 + 2, 2)


def test_binance_pages_keep_quote_volume_and_trades_and_ccxt_throttles_through_the_budget(
    tmp_path, simulator
):
    day = day_ms(3)

    async def run():
        async with client(tmp_path, simulator) as c:
            frame = await c.fetch_range(series(), day, day + 10 * M)
            exchange = c._exchange
        return frame, exchange, c.stats

    frame, exchange, stats = asyncio.run(run())
    assert frame["quote_volume"].null_count() == frame["trades"].null_count() == 0
    assert frame["trades"].min() > 0
    # ccxt's throttle stays on and charges each request to the shared budget: markets, a page
    assert exchange.enableRateLimit is True
    assert (stats.requests, stats.weight) == (2, 20 + 2)
    assert exchange.session is None  # closed on leaving


@pytest.mark.parametrize(
    ("symbol", "timeframe", "message"),
    [
        (
            "NOPE/USDT",
            "1m",
            "binance does not list symbol 'NOPE/USDT'; fix markets[].symbol in the config"
            " (ccxt unified form, e.g. BTC/USDT)",
        ),
        ("BTC/USDT", "1m", None),
        (
            "BTC/USDT",
            Timeframe("2w", 14 * DAY_MS, "year"),
            "binance has no 2w candles; it offers " + ", ".join(ccxt.binance().timeframes),
        ),
    ],
)
def test_a_market_or_timeframe_the_exchange_lacks_is_refused_before_any_candle_request(
    tmp_path, simulator, symbol, timeframe, message
):
    async def run():
        async with client(tmp_path, simulator) as c:
            tf = get_timeframe(timeframe) if isinstance(timeframe, str) else timeframe
            c.check_market(Series("binance", symbol, tf, date(2020, 1, 1)))

    if message is None:
        asyncio.run(run())
    else:
        with pytest.raises(FetchError) as failure:
            asyncio.run(run())
        assert str(failure.value) == message
    assert klines(simulator) == 0


def test_missing_credentials_name_their_variable(tmp_path, simulator, monkeypatch):
    monkeypatch.delenv("MD_TEST_KEY", raising=False)
    c = client(tmp_path, simulator, credentials={"apiKey": "MD_TEST_KEY"})
    with pytest.raises(FetchError) as failure:
        asyncio.run(c.__aenter__())
    assert str(failure.value) == (
        "binance: environment variable MD_TEST_KEY (credentials.apiKey) is not set"
    )
    assert simulator.stats()["requests"] == 0
    monkeypatch.setenv("MD_TEST_KEY", "k")

    async def run():
        async with client(tmp_path, simulator, credentials={"apiKey": "MD_TEST_KEY"}) as c:
            return c._exchange.apiKey

    assert asyncio.run(run()) == "k"


def test_no_markets_is_a_bad_answer_retried_not_a_delisting(tmp_path, simulator):
    """An empty exchangeInfo body ({}) makes ccxt load zero markets."""
    seed = next(s for s in range(100) if all(p.malformed == "empty" for p in plans(s, 3)))
    simulator.set_faults(Faults(malformed_rate=1.0, seed=seed))
    with pytest.raises(FetchError) as failure:
        asyncio.run(client(tmp_path, simulator, max_retries=2).__aenter__())
    assert str(failure.value) == (
        "binance load markets: gave up after 3 attempts: MalformedPage:"
        " the exchange answered with no markets"
    )
    assert simulator.stats()["requests"] == 3


def plans(seed: int, n: int):
    injector = FaultInjector(Faults(malformed_rate=1.0, seed=seed))
    return [injector.plan() for _ in range(n)]
