"""The trades asset against the simulator: every trade by id, resumable, exact under faults."""

import threading
import time

import ccxt
import polars as pl

from marketdata_pipeline.simulator import Faults, ccxt_config
from marketdata_pipeline.storage.schema import TRADES

from ..conftest import day_key, day_ms, market, metadata_of


def exchange_trades(sim, symbol: str, start: int, end: int) -> pl.DataFrame:
    """Every aggTrade of [start, end) walked by id with plain ccxt and no faults."""
    exchange = ccxt.binance(ccxt_config(sim.url))
    exchange.load_markets()
    market_id = exchange.market_id(symbol)
    first = exchange.publicGetAggTrades(
        {"symbol": market_id, "startTime": start, "endTime": start + 3_599_999, "limit": 1}
    )
    rows, cursor = [], int(first[0]["a"])
    while True:
        page = exchange.publicGetAggTrades({"symbol": market_id, "fromId": cursor, "limit": 1000})
        rows += [r for r in page if int(r["T"]) < end]
        if not page or int(page[-1]["T"]) >= end:
            break
        cursor = int(page[-1]["a"]) + 1
    return pl.DataFrame(
        {
            "timestamp": [int(r["T"]) for r in rows],
            "id": [int(r["a"]) for r in rows],
            "price": [float(r["p"]) for r in rows],
            "amount": [float(r["q"]) for r in rows],
            "first_trade_id": [int(r["f"]) for r in rows],
            "last_trade_id": [int(r["l"]) for r in rows],
            "side": ["sell" if r["m"] else "buy" for r in rows],
        }
    )


def stored_trades(project, series, start: int, end: int) -> pl.DataFrame:
    frame = project.store.read(series, start, end, library=TRADES)
    return frame.with_columns(pl.col("timestamp").dt.epoch("ms")).select(
        "timestamp", "id", "price", "amount", "first_trade_id", "last_trade_id", "side"
    )


def trades_project(make_project, **connector):
    project = make_project([market(trades=True)], **connector)
    return project, project.config.trade_series[0]


def agg_requests(sim) -> int:
    return sim.stats()["agg_trades_requests"]


def test_a_day_is_every_trade_by_id_and_days_join_without_a_gap(make_project, simulator):
    project, series = trades_project(make_project)
    project.materialize(series, day_key(1))  # out of order: the later day first
    project.materialize(series, day_key(2))
    stored = stored_trades(project, series, day_ms(2), day_ms(0))
    assert stored.equals(exchange_trades(simulator, "BTC/USDT", day_ms(2), day_ms(0)))
    ids = stored["id"]
    assert (ids.diff().drop_nulls() == 1).all()  # contiguous across the partition boundary
    assert stored["timestamp"].is_sorted()


def test_a_complete_day_costs_no_request_and_metadata_counts_exactly(make_project, simulator):
    project, series = trades_project(make_project)
    first = metadata_of(project.materialize(series, day_key(3)), "trades")
    expected = exchange_trades(simulator, "BTC/USDT", day_ms(3), day_ms(2))
    assert first["trades_written"] == first["trades_stored"] == expected.height
    assert (first["first_id"], first["last_id"]) == (expected["id"][0], expected["id"][-1])
    assert first["missing_ids"] == 0 and first["rows_already_present"] == 0
    simulator.reset_stats()
    again = metadata_of(project.materialize(series, day_key(3)), "trades")
    assert agg_requests(simulator) == 0
    assert (again["trades_written"], again["trades_stored"]) == (0, expected.height)


def test_faults_end_with_the_trades_of_a_clean_run(make_project, simulator):
    project, series = trades_project(make_project, max_retries=8)
    simulator.set_faults(
        Faults(error_rate=0.1, drop_rate=0.03, malformed_rate=0.05, storm_rate=0.03, seed=11)
    )
    try:
        result = project.materialize(series, day_key(4))
        failures = sum(n for s, n in simulator.stats()["status_counts"].items() if str(s) != "200")
    finally:
        simulator.set_faults(Faults())
    assert failures > 0 and metadata_of(result, "trades")["retries"] > 0
    stored = stored_trades(project, series, day_ms(4), day_ms(3))
    assert stored.equals(exchange_trades(simulator, "BTC/USDT", day_ms(4), day_ms(3)))


def test_a_run_cut_short_resumes_from_what_it_completed(make_project, simulator):
    project, series = trades_project(
        make_project, max_retries=0, pages_per_write=2, page_concurrency=1
    )

    def break_after_first_chunk():  # the exchange fails for good once a chunk is stored
        while not project.store.coverage(series, TRADES).ranges:
            time.sleep(0.01)
        simulator.set_faults(Faults(error_rate=1.0))

    breaker = threading.Thread(target=break_after_first_chunk)
    breaker.start()
    try:
        failed = project.materialize(series, day_key(5), raise_on_error=False)
    finally:
        breaker.join()
        simulator.set_faults(Faults())
    assert not failed.success
    kept = project.store.read(series, day_ms(5), day_ms(4), library=TRADES).height
    ((start, end),) = project.store.coverage(series, TRADES).ranges
    assert kept >= 2000 and start == day_ms(5) and end < day_ms(4)
    expected = exchange_trades(simulator, "BTC/USDT", day_ms(5), day_ms(4))
    simulator.reset_stats()
    project.materialize(series, day_key(5))
    assert stored_trades(project, series, day_ms(5), day_ms(4)).equals(expected)
    # The rerun fetches what the first run had not completed: one probe, then its pages.
    rest = expected.filter(pl.col("timestamp") >= end).height
    assert agg_requests(simulator) == 1 + rest // 1000 + 1


def test_only_settled_trades_of_today_are_stored(make_project, simulator):
    project, series = trades_project(make_project)
    project.materialize(series, day_key(0))
    after = int(time.time() * 1000)
    settle = project.config.connectors[0].settle_seconds * 1000
    stored = project.store.read(series, day_ms(0), None, library=TRADES)
    assert stored["timestamp"].dt.epoch("ms").max() < after - settle
    (covered,) = project.store.coverage(series, TRADES).ranges
    assert covered[0] == day_ms(0) and covered[1] <= after - settle


def test_a_hole_served_once_is_refetched(make_project, simulator):
    project, series = trades_project(make_project)
    simulator.set_faults(Faults(trade_hole_rate=0.4, seed=2))
    try:
        result = project.materialize(series, day_key(6))
        holes = simulator.stats()["faults_injected"].get("trade_hole", 0)
    finally:
        simulator.set_faults(Faults())
    assert holes > 0
    assert metadata_of(result, "trades")["missing_ids"] == 0
    assert project.store.coverage(series, TRADES).gaps == []
    stored = stored_trades(project, series, day_ms(6), day_ms(5))
    assert stored.equals(exchange_trades(simulator, "BTC/USDT", day_ms(6), day_ms(5)))


def test_a_hole_the_exchange_confirms_is_recorded_never_invented(make_project, simulator):
    project, series = trades_project(make_project)
    outage = (day_ms(7) + 600 * 60_000, day_ms(7) + 630 * 60_000)
    simulator.set_faults(Faults(maintenance=(outage,)))
    try:
        result = project.materialize(series, day_key(7))
        expected = exchange_trades(simulator, "BTC/USDT", day_ms(7), day_ms(6))
    finally:
        simulator.set_faults(Faults())
    stored = stored_trades(project, series, day_ms(7), day_ms(6))
    assert stored.equals(expected)
    inside = stored.filter(pl.col("timestamp").is_between(outage[0], outage[1], closed="left"))
    assert inside.height == 0
    before = stored.filter(pl.col("timestamp") < outage[0])["id"].max()
    after = stored.filter(pl.col("timestamp") >= outage[1])["id"].min()
    metadata = metadata_of(result, "trades")
    assert metadata["missing_ids"] == after - before - 1 > 0
    assert project.store.coverage(series, TRADES).gaps == [(before + 1, after)]
    checks = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert [(c.check_name, c.passed) for c in checks if c.asset_key.path[-1] == "trades"] == [
        ("complete", True)
    ]
