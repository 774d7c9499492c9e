"""`marketdata status` rows: why each stale series is stale, its runs in progress and their
processes, the last failed run's one-line error; books and tickers by their newest snapshot."""

from __future__ import annotations

import time

from dagster import DagsterRunStatus
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.test_utils import create_run_for_test

from marketdata_pipeline.automation.keys import SERIES_TAG
from marketdata_pipeline.books.layout import snapshot_rows
from marketdata_pipeline.ops.diagnosis import began_ms, duration, when
from marketdata_pipeline.ops.status import series_rows
from marketdata_pipeline.simulator import Faults
from marketdata_pipeline.storage.schema import ORDER_BOOKS
from marketdata_pipeline.timeframes import HOUR_MS, MINUTE_MS, now_ms

from ..access.test_books import btc_book, stored_order
from ..conftest import (
    claim_slot,
    day_key,
    day_ms,
    fake_trades,
    market,
    owned_run,
    store_trades,
    today,
)

ORIGIN = RemoteRepositoryOrigin(
    RegisteredCodeLocationOrigin("marketdata_pipeline"), "__repository__"
).get_job_origin("__ASSET_JOB")
SYMBOLS = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "XRP/USDT", "SOL/USDT", "SHIB/USDT"]


def rows_by_series(project) -> dict[str, dict]:
    return {r["series"]: r for r in series_rows(project.config, project.instance, now_ms())}


def test_why_each_series_is_stale(make_project, simulator):
    project = make_project(
        [market(s) for s in SYMBOLS] + [market("BTC/USDT", ["1h"])], max_retries=0
    )
    instance = project.instance
    done = project.materialize(project.series("ETH/USDT"), day_key(3))
    simulator.set_faults(Faults(error_rate=1.0))
    project.materialize(project.series("BNB/USDT"), day_key(3), raise_on_error=False)
    simulator.set_faults(Faults())
    going = owned_run(instance, "binance/xrp_usdt/1m")
    for step in "abcd":  # every slot of the pool, so the next claim waits
        claim_slot(instance, going, step)
    stuck = owned_run(instance, "binance/sol_usdt/1m")
    assert not instance.event_log_storage.claim_concurrency_slot(
        "binance", stuck.run_id, "c"
    ).is_claimed
    queued = create_run_for_test(
        instance,
        status=DagsterRunStatus.QUEUED,
        tags={SERIES_TAG: "binance/shib_usdt/1m"},
        remote_job_origin=ORIGIN,  # a queued run waits to be launched from its code location
    )

    create_run_for_test(
        instance, status=DagsterRunStatus.CANCELED, tags={SERIES_TAG: "binance/btc_usdt/1h"}
    )

    rows = rows_by_series(project)

    started = when(began_ms(instance.get_run_record_by_id(done.run_id)))
    assert {name: row["why"] for name, row in rows.items()} == {
        "binance/btc_usdt/1m": "never run",
        "binance/eth_usdt/1m": f"no run since {started}",
        "binance/bnb_usdt/1m": "last run failed",
        "binance/xrp_usdt/1m": "run in progress for 0h00m",
        "binance/sol_usdt/1m": "run stuck for 0h00m waiting for a slot in pool binance",
        "binance/shib_usdt/1m": "run queued for 0h00m",
        "binance/btc_usdt/1h": "last run canceled",
    }
    assert {name: row["in_progress"] for name, row in rows.items()} == {
        "binance/btc_usdt/1m": "-",
        "binance/eth_usdt/1m": "-",
        "binance/bnb_usdt/1m": "-",
        "binance/xrp_usdt/1m": f"{going.run_id[:8]} 0h00m alive",
        "binance/sol_usdt/1m": f"{stuck.run_id[:8]} 0h00m alive",
        "binance/shib_usdt/1m": f"{queued.run_id[:8]} 0h00m queued",
        "binance/btc_usdt/1h": "-",
    }
    bnb = rows["binance/bnb_usdt/1m"]
    assert bnb["last_error"].startswith("binance load markets: gave up after 1 attempts: ")
    assert bnb["last_run"].startswith("failure ") and rows["binance/btc_usdt/1m"]["last_run"] == "-"


def test_an_exchange_gap_in_progress_is_named(make_project, simulator):
    project = make_project(max_retries=0)
    project.materialize(project.series(), day_key(1))
    now = int(time.time() * 1000)
    simulator.set_faults(Faults(maintenance=((now - 3_600_000, now + 3_600_000),)))
    project.materialize(project.series(), str(today()), raise_on_error=False)
    row = rows_by_series(project)["binance/btc_usdt/1m"]
    assert row["why"] == f"exchange gap: no candles after {day_key(1)} 23:59 (last run failed)"
    assert (
        "gave up after 1 attempts: MalformedPage: an empty page for binance/btc_usdt/1m ["
        in (row["last_error"])
    )


def test_trade_series_show_their_last_trade_and_lag(make_project):
    project = make_project([{**market(), "trades": True}, {**market("ETH/USDT"), "trades": True}])
    start, now = day_ms(2), now_ms()
    store_trades(project, "BTC/USDT", fake_trades(start, 7200), start, start + HOUR_MS)
    minute = now // MINUTE_MS * MINUTE_MS  # ETH: trades of the last two minutes
    store_trades(
        project, "ETH/USDT", fake_trades(minute - 2 * MINUTE_MS, 240), minute - 120_000, minute
    )
    rows = {r["series"]: r for r in series_rows(project.config, project.instance, now)}
    assert list(rows) == [
        "binance/btc_usdt/1m",
        "binance/eth_usdt/1m",
        "binance/btc_usdt/trades",
        "binance/eth_usdt/trades",
    ]
    btc, eth = rows["binance/btc_usdt/trades"], rows["binance/eth_usdt/trades"]
    last_btc = start + HOUR_MS - 1000  # the last trade, at 00:59:59
    assert (btc["last"], btc["state"], btc["why"]) == (f"{day_key(2)} 00:59", "stale", "never run")
    assert btc["lag"] == duration(minute - MINUTE_MS - last_btc)  # behind the last closed minute
    assert (eth["lag"], eth["state"], eth["why"]) == ("0h00m", "fresh", "-")


def test_book_and_ticker_series_show_their_newest_snapshot_and_why_they_are_stale(make_project):
    every = {"order_book": {"depth": 2, "every_seconds": 10}}
    project = make_project([market(**every, ticker=True), market("ETH/USDT", **every)])
    btc, _, eth = project.config.polled_series
    now = now_ms()
    old = day_ms(1) + 5 * HOUR_MS + 30_007  # ETH/USDT: collected until yesterday 05:00:30
    for series, at in ((btc, now - 2000), (eth, old)):
        rows = stored_order(snapshot_rows([btc_book(0)], 2, at))
        project.store.write(series, rows, at, at + 1, ORDER_BOOKS)
    rows = {r["series"]: r for r in series_rows(project.config, project.instance, now)}
    assert list(rows)[2:] == [
        "binance/btc_usdt/order_book",
        "binance/btc_usdt/ticker",
        "binance/eth_usdt/order_book",
    ]
    book, ticker, stopped = (rows[s.name] for s in project.config.polled_series)
    assert (book["lag"], book["state"], book["why"]) == ("0h00m", "fresh", "-")
    assert (ticker["last"], ticker["state"]) == ("-", "stale")
    assert ticker["why"] == "never collected: run `marketdata stream`"
    assert (stopped["last"], stopped["state"]) == (f"{day_key(1)} 05:00", "stale")
    assert (
        stopped["why"] == f"no snapshot since {day_key(1)} 05:00: is `marketdata stream` running?"
    )
    assert stopped["lag"] == duration(now - old)
    # compacted and checked by a daily run at 00:05
    tick = day_ms(0) + 5 * MINUTE_MS
    tick += 0 if now < tick else 24 * HOUR_MS
    assert {r["next_run"] for r in (book, ticker, stopped)} == {when(tick)}
