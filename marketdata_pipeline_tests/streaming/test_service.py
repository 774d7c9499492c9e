"""The streaming service against the simulator's WebSocket streams, faults included: what it
stores equals the exchange's history (trades), its true book (snapshots) and REST (candles)."""

import asyncio

import arcticdb
import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance

from marketdata_pipeline.books.layout import snapshot_rows
from marketdata_pipeline.config import load_config
from marketdata_pipeline.coordination import coordination_for
from marketdata_pipeline.exchange.resource import exchange_resource_key, exchange_resources
from marketdata_pipeline.simulator import Faults
from marketdata_pipeline.simulator.book import book_at
from marketdata_pipeline.simulator.symbols import make_specs
from marketdata_pipeline.storage.schema import CANDLES, ORDER_BOOKS, TICKERS, TRADES
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.streaming import service as service_module
from marketdata_pipeline.streaming import state
from marketdata_pipeline.trades.ingest import ingest_trades

from ..conftest import free_port, write_config
from .conftest import DEPTH, rest_candles, rest_trades, run_service, streamed_market

TRADES_KEY = AssetKey(["binance", "btc_usdt", "trades"])
BTC = make_specs(None, 120)["BTCUSDT"]


def of(config, data: str):
    return next(s for s in config.all_series if s.data == data)


def check_trades(sim, config) -> pl.DataFrame:
    """Stored trades: the exchange's history from the first to the last id, no hole, no twin."""
    stored = store_for(config).read(of(config, "trades"), None, None, TRADES)
    ids = stored["id"]
    assert ids.is_unique().all()
    expected = rest_trades(sim, int(ids.min()), int(ids.max()))
    assert stored.sort("id").equals(expected)
    return stored


def check_books(sim, config) -> int:
    """Every snapshot is the exchange's book at its update id."""
    stored = store_for(config).read(of(config, "order_book"), None, None, ORDER_BOOKS)
    now = sim.now_ms()
    for row in stored.iter_rows(named=True):
        true = book_at(BTC, row["update_id"], DEPTH, now_ms=now).to_ccxt(BTC)
        expected = snapshot_rows([true], DEPTH, 0).drop("timestamp", "local_timestamp")
        assert pl.DataFrame([row]).drop("timestamp", "local_timestamp").equals(expected), row
    return stored.height


def check_candles(sim, config) -> int:
    """Closed candles stored from the stream equal REST's, every column."""
    stored = store_for(config).read(of(config, "candles"), None, None, CANDLES)
    times = stored["open_time"].dt.epoch("ms").to_list()
    expected = rest_candles(sim, times)
    got = stored.with_columns(pl.col("open_time").dt.epoch("ms"))
    assert got.equals(expected.cast(got.schema))
    return stored.height


def test_a_clean_stream_stores_the_exchange_history(fast_sim, stream_config):
    until = {"trades": 51, "order_book": 5, "candles": 1, "ticker": 5}
    _, lines = run_service(stream_config, 90, until=until)
    trades = check_trades(fast_sim, stream_config)
    assert trades.height > 50  # about 160 simulated seconds at 84 aggTrades a minute
    assert check_books(fast_sim, stream_config) >= 5  # one a second once the book is in sync
    assert check_candles(fast_sim, stream_config) >= 1  # about two closed in 160 s
    ticker = store_for(stream_config).read(of(stream_config, "ticker"), None, None, TICKERS)
    assert ticker.height >= 5 and (ticker["bid"] < ticker["ask"]).all()
    records = state.read(coordination_for(stream_config))
    assert records["binance/btc_usdt/trades"]["rows_written"] == trades.height
    assert records["binance/btc_usdt/trades"]["connected"] is False  # stopped
    (last,) = DagsterInstance.get().fetch_observations(TRADES_KEY, limit=1).records
    observed = {k: v.value for k, v in last.asset_observation.metadata.items()}
    assert (observed["stream_rows_written"], observed["stream_connected"]) == (trades.height, False)
    assert not [line for line in lines if "event=disconnect" in line]


@pytest.mark.slow
def test_dropped_connections_and_a_depth_gap_lose_nothing(fast_sim, stream_config):
    """Connections cut every 3 s (a simulated minute) and depth diffs withheld: the trades of
    the cuts are fetched over REST, the broken book resynced, no candle stored incomplete."""
    fast_sim.set_faults(Faults(ws_drop_every_s=60, ws_depth_skip_rate=0.05))
    _, lines = run_service(stream_config, 25)
    trades = check_trades(fast_sim, stream_config)
    assert trades.height > 300  # about 8 simulated minutes
    assert check_books(fast_sim, stream_config) >= 5
    assert check_candles(fast_sim, stream_config) >= 1
    records = state.read(coordination_for(stream_config))
    assert records["binance/btc_usdt/trades"]["reconnects"] >= 4
    assert records["binance/btc_usdt/trades"]["gaps_repaired"] >= 1
    assert records["binance/btc_usdt/order_book"]["resyncs"] >= 1
    assert any("event=gap_repaired" in line for line in lines)
    assert any("event=resync" in line for line in lines)
    assert any('event=disconnect exchange="binance"' in line for line in lines)


@pytest.mark.slow
def test_a_rest_backfill_of_the_same_trades_during_the_stream_loses_nothing(
    fast_sim, stream_config
):
    """The trades asset's ingest of today runs while the stream writes the same series: both
    write under the series lock, so every trade of either is kept, once."""
    series = of(stream_config, "trades")
    store = store_for(stream_config)
    day_start = fast_sim.now_ms() // 86_400_000 * 86_400_000
    backfilled = {}

    async def backfill():
        await asyncio.sleep(3)  # the stream has started storing: the ranges overlap
        resource = exchange_resources(stream_config)[exchange_resource_key("binance")]
        async with resource.client() as client:
            now = fast_sim.now_ms()
            backfilled["result"] = await ingest_trades(
                series, [(day_start, day_start + 86_400_000)], client, store, now - 5_000
            )

    run_service(stream_config, 10, during=backfill)
    trades = check_trades(fast_sim, stream_config)
    assert backfilled["result"].rows_written > 0
    assert int(trades["timestamp"].dt.epoch("ms").min()) < day_start + 60_000  # REST's part


def test_an_unreachable_exchange_is_retried_until_stopped(tmp_path):
    config = load_config(
        write_config(
            tmp_path, f"http://127.0.0.1:{free_port()}", [streamed_market()], max_retries=0
        )
    )
    _, lines = run_service(config, 3)
    unreachable = [line for line in lines if "event=unreachable" in line]
    assert len(unreachable) >= 2  # tried again, saying so each time
    assert 'exchange="binance"' in unreachable[0] and "load markets" in unreachable[0]


@pytest.fixture
def few_segments():
    """ArcticDB calls a symbol fragmented from 2 small segments (default 100)."""
    arcticdb.config.set_config_int("SymbolDataCompact.SegmentCount", 2)
    yield
    arcticdb.config.set_config_int("SymbolDataCompact.SegmentCount", 100)


def test_streamed_trades_and_candles_are_compacted(
    fast_sim, stream_config, monkeypatch, few_segments
):
    monkeypatch.setattr(service_module, "COMPACT_SECONDS", 0.0)  # every flush, not hourly
    run_service(stream_config, 90, until={"trades": 30, "candles": 2})  # several writes each
    store = store_for(stream_config)
    for data, library in (("trades", TRADES), ("candles", CANDLES)):
        lib = store.library(library)
        name = of(stream_config, data).name
        assert lib.has_symbol(name)
        assert not lib.is_symbol_fragmented(name)
