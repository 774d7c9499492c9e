"""`marketdata sync` with trades: trades first, then candles and the candles built from them."""

import signal
import time

import polars as pl
from click.testing import CliRunner

from marketdata_pipeline.cli.main import main
from marketdata_pipeline.simulator import Faults
from marketdata_pipeline.storage.schema import CANDLES, TRADE_CANDLES, TRADES

from ..conftest import day_key, day_ms, market, marketdata
from ..trades.test_assets import exchange_trades, stored_trades


def sync(*args: str):
    return CliRunner().invoke(main, ["sync", *args])


def test_trades_then_candles_built_from_them_equal_the_exchange_candles(make_project):
    project = make_project([market(timeframes=["1m", "1h"], trades=True)])
    trades = project.config.trade_series[0]
    first = sync("--start", day_key(2), "--end", day_key(1), "--data", "trades")
    assert first.exit_code == 0, first.output
    assert project.store.coverage(trades, TRADES).ranges == [(day_ms(2), day_ms(1))]
    assert project.store.summary(project.series()).rows == 0  # candles were not asked for

    both = sync("--start", day_key(2), "--end", day_key(1))
    assert both.exit_code == 0, both.output
    assert f"nothing to fetch for {trades.name}" in both.output
    for tf, buckets in (("1m", 1440), ("1h", 24)):
        series = project.series(timeframe=tf)
        built = project.store.read(series, day_ms(2), day_ms(1), TRADE_CANDLES)
        exchange = project.store.read(series, day_ms(2), day_ms(1), CANDLES)
        assert built.height == exchange.height == buckets
        columns = ["open_time", "open", "high", "low", "close", "trades"]
        assert built.select(columns).equals(exchange.select(columns))
        for volume in ("volume", "quote_volume"):
            assert ((built[volume] - exchange[volume]).abs() <= 1e-9 * exchange[volume]).all()

    again = sync("--start", day_key(2), "--end", day_key(1))
    assert again.exit_code == 0
    assert again.output.count("nothing to fetch") == 3  # trades, 1m, 1h


def test_trades_alone_on_a_market_without_them_is_a_user_error(make_project):
    make_project([market()])
    result = sync("--start", day_key(2), "--data", "trades")
    assert result.exit_code == 2
    assert result.output.startswith(
        "error: no configured market with `trades: true` matches anything in"
    )
    assert result.output.count("\n") == 1


def test_an_unknown_data_kind_is_one_line(make_project):
    make_project([market(trades=True)])
    result = sync("--start", day_key(2), "--data", "candles,books")
    assert (result.exit_code, result.output) == (
        2,
        "error: --data 'candles,books': use a comma-separated list of candles, trades\n",
    )


def test_candles_alone_leave_trades_alone(make_project, simulator):
    project = make_project([market(trades=True)])
    simulator.reset_stats()
    result = sync("--start", day_key(2), "--end", day_key(1), "--data", "candles")
    assert result.exit_code == 0, result.output
    assert simulator.stats()["agg_trades_requests"] == 0
    trade_candles = project.store.read(project.series(), None, None, TRADE_CANDLES)
    assert trade_candles.height == 0 and isinstance(trade_candles, pl.DataFrame)


def test_parallel_trade_syncs_lose_and_duplicate_nothing(make_project, simulator, tmp_path):
    project = make_project([market(trades=True)], page_concurrency=2, pages_per_write=1)
    series = project.config.trade_series[0]
    runs = [
        marketdata(
            "sync",
            "--data",
            "trades",
            "--start",
            day_key(a),
            "--end",
            day_key(b),
            cwd=tmp_path,
            wait=False,
        )
        for a, b in ((4, 1), (3, 1))
    ]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    stored = stored_trades(project, series, day_ms(4), day_ms(1))
    assert stored["id"].is_unique().all()
    assert stored.equals(exchange_trades(simulator, "BTC/USDT", day_ms(4), day_ms(1)))


def test_a_killed_trade_sync_is_repaired_by_the_next(make_project, simulator, tmp_path):
    project = make_project([market(trades=True)], page_concurrency=1, pages_per_write=1)
    series = project.config.trade_series[0]
    simulator.set_faults(Faults(latency_ms=30))
    try:
        run = marketdata(
            "sync",
            "--data",
            "trades",
            "--start",
            day_key(3),
            "--end",
            day_key(1),
            cwd=tmp_path,
            wait=False,
        )
        deadline = time.time() + 120
        while not project.store.coverage(series, TRADES).ranges and time.time() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        simulator.set_faults(Faults())
    covered = project.store.coverage(series, TRADES).ranges
    assert covered and covered[0][1] < day_ms(1)  # killed part-way
    again = marketdata(
        "sync", "--data", "trades", "--start", day_key(3), "--end", day_key(1), cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert "healed:" in again.stderr
    assert project.store.coverage(series, TRADES).ranges == [(day_ms(3), day_ms(1))]
    stored = stored_trades(project, series, day_ms(3), day_ms(1))
    assert stored.equals(exchange_trades(simulator, "BTC/USDT", day_ms(3), day_ms(1)))
