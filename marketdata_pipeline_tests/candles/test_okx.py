"""The candle path against a second exchange protocol: OKX v5 (newest-first pages, a separate
history endpoint, per-endpoint limits), through the unmodified ccxt.okx and default budgets."""

import pytest

from marketdata_pipeline.simulator import Faults, Simulator, ccxt_config

from ..conftest import day_key, day_ms, exchange_candles, market, metadata_of

MINUTE = 60_000


@pytest.fixture(scope="module")
def okx():
    with Simulator(port=0, exchange="okx", trades_per_minute=30) as sim:
        yield sim


@pytest.fixture
def okx_project(make_project, okx):
    def make(markets=None, **connector):
        return make_project(
            markets or [market(timeframes=["1m", "1h"])],
            id="okx",
            ccxt=ccxt_config(okx.url, "okx"),
            **connector,
        )

    return make


def stored(project, tf: str, start: int, end: int):
    series = project.config.select("okx", "BTC/USDT", tf)[0]
    return project.store.read(series, start, end).select(
        "open_time", "open", "high", "low", "close", "volume"
    )


def same_as_binance(frame, simulator, tf: str, start: int, end: int) -> bool:
    """The simulators share one market model: OKX serves the candles Binance serves."""
    expected = exchange_candles(simulator, "BTC/USDT", tf, start, end)
    return frame.with_columns(frame["open_time"].dt.epoch("ms")).equals(expected)


def test_okx_backfill_is_exact_within_its_limits_and_a_rerun_fetches_nothing(
    okx_project, okx, simulator
):
    project = okx_project()
    okx.reset_stats()
    for tf in ("1m", "1h"):
        series = project.config.select("okx", "BTC/USDT", tf)[0]
        project.materialize(series, day_key(10), day_key(1))
    stats = okx.stats()
    assert stats["count_429"] == 0  # the budget from ccxt keeps inside OKX's per-endpoint limits
    assert same_as_binance(
        stored(project, "1m", day_ms(3), day_ms(0)), simulator, "1m", day_ms(3), day_ms(0)
    )
    assert same_as_binance(
        stored(project, "1h", day_ms(3), day_ms(0)), simulator, "1h", day_ms(3), day_ms(0)
    )
    okx.reset_stats()
    result = project.materialize(project.config.select("okx", "BTC/USDT", "1m")[0], day_key(2))
    assert metadata_of(result)["rows_written"] == 0
    assert okx.stats()["requests"] == 1  # loading the markets only


def test_okx_faults_end_with_the_candles_of_a_clean_run(okx_project, okx, simulator):
    project = okx_project(max_retries=8)
    okx.set_faults(Faults(error_rate=0.1, drop_rate=0.03, malformed_rate=0.05, seed=3))
    try:
        project.materialize(
            project.config.select("okx", "BTC/USDT", "1m")[0], day_key(5), day_key(4)
        )
    finally:
        okx.set_faults(Faults())
    assert same_as_binance(
        stored(project, "1m", day_ms(5), day_ms(3)), simulator, "1m", day_ms(5), day_ms(3)
    )


def test_okx_maintenance_is_a_recorded_gap(okx_project, okx):
    project = okx_project()
    outage = (day_ms(6) + 300 * MINUTE, day_ms(6) + 420 * MINUTE)
    okx.set_faults(Faults(maintenance=(outage,)))
    try:
        result = project.materialize(project.config.select("okx", "BTC/USDT", "1m")[0], day_key(6))
    finally:
        okx.set_faults(Faults())
    assert metadata_of(result)["missing_candles"] == 120
    assert stored(project, "1m", day_ms(6), day_ms(5)).height == 1440 - 120
