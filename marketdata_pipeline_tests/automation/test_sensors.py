"""The freshness sensor on stale and fresh stores, evaluated with build_sensor_context."""

from __future__ import annotations

import polars as pl
from dagster import DagsterRunStatus, build_sensor_context
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._core.test_utils import create_run_for_test

from marketdata_pipeline.automation.runs import SERIES_TAG
from marketdata_pipeline.storage.schema import CANDLE_SCHEMA, PRICE_COLUMNS
from marketdata_pipeline.timeframes import MINUTE_MS, now_ms

from ..conftest import day_key, day_ms, dead_pid, market, owned_run, today


def evaluate(project):
    defs = project.defs
    sensor = defs.resolve_sensor_def("candle_freshness")
    with build_sensor_context(
        instance=project.instance, resources=defs.resources, definitions=defs
    ) as context:
        return sensor.evaluate_tick(context)


def lags(result) -> dict[str, dict]:
    return {
        "/".join(e.asset_key.path): {k: v.value for k, v in e.metadata.items()}
        for e in result.asset_events
    }


def test_only_the_stale_series_is_requested(make_project):
    project = make_project([market("BTC/USDT"), market("ETH/USDT")])
    project.materialize(project.series(), day_key(3))
    project.materialize(project.series("ETH/USDT"), day_key(0))
    result = evaluate(project)
    assert [r.tags[SERIES_TAG] for r in result.run_requests] == ["binance/btc_usdt/1m"]
    assert {k: v["stale"] for k, v in lags(result).items()} == {
        "binance/btc_usdt/candles_1m": True,
        "binance/eth_usdt/candles_1m": False,
    }


def test_catch_up_ranges_from_the_newest_stored_candle_to_now(make_project):
    project = make_project()
    project.materialize(project.series(), day_key(3))
    newest_closed = now_ms() // MINUTE_MS * MINUTE_MS - MINUTE_MS
    result = evaluate(project)
    latest_closed = now_ms() // MINUTE_MS * MINUTE_MS - MINUTE_MS
    (request,) = result.run_requests
    assert request.tags[SERIES_TAG] == "binance/btc_usdt/1m"
    assert (
        request.tags[ASSET_PARTITION_RANGE_START_TAG],
        request.tags[ASSET_PARTITION_RANGE_END_TAG],
    ) == (
        day_key(2),
        day_key(0),
    )
    assert [k.to_user_string() for k in request.asset_selection] == [
        "binance/btc_usdt/candles_1m",
        "binance/btc_usdt/indicators_1m",
    ]
    lag = lags(result)["binance/btc_usdt/candles_1m"]
    last = day_ms(2) - MINUTE_MS  # 23:59 three days ago
    assert lag["stale"] is True
    assert (newest_closed - last) / 1000 <= lag["lag_seconds"] <= (latest_closed - last) / 1000
    assert lag["last_candle"].startswith(f"{day_key(3)}T23:59:00")


def test_fresh_store_requests_nothing_and_records_the_lag(make_project):
    project = make_project()
    project.materialize(project.series(), day_key(0))
    result = evaluate(project)
    assert result.run_requests == []
    lag = lags(result)["binance/btc_usdt/candles_1m"]
    # The run stored every candle closed 5 s (settle_seconds) before it ended: at most the
    # candle closing in between, and one more if a minute turned since, are missing.
    assert lag["stale"] is False and lag["lag_seconds"] in (0, 60, 120)


def one_candle(open_ms: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"open_time": [open_ms], **{c: [1.0] for c in PRICE_COLUMNS}, "quote_volume": [1.0]}
        | {"trades": [1]}
    ).cast(CANDLE_SCHEMA)


def test_the_stale_threshold_is_the_configured_candles_plus_grace(make_project):
    """freshness: 3 candles and no grace; BTC is 3 candles behind (fresh), ETH 4 (stale)."""
    project = make_project(
        [market("BTC/USDT"), market("ETH/USDT")],
        settings={"freshness": {"candles": 3, "grace_seconds": 0}},
    )
    btc, eth = project.series(), project.series("ETH/USDT")
    for _ in range(3):  # a minute turning during the evaluation changes every lag: measure again
        expected = btc.timeframe.floor(now_ms()) - MINUTE_MS
        for s, behind in ((btc, 3), (eth, 4)):
            start = expected - behind * MINUTE_MS
            project.store.write(s, one_candle(start), start, start + MINUTE_MS)
        result = evaluate(project)
        if btc.timeframe.floor(now_ms()) - MINUTE_MS == expected:
            break
    observed = {k: (v["lag_seconds"], v["stale"]) for k, v in lags(result).items()}
    assert observed == {
        "binance/btc_usdt/candles_1m": (180.0, False),
        "binance/eth_usdt/candles_1m": (240.0, True),
    }
    assert [r.tags[SERIES_TAG] for r in result.run_requests] == ["binance/eth_usdt/1m"]


def test_series_with_a_run_in_progress_is_not_requested_again(make_project):
    project = make_project()
    project.materialize(project.series(), day_key(3))
    create_run_for_test(
        project.instance, status=DagsterRunStatus.STARTED, tags={SERIES_TAG: "binance/btc_usdt/1m"}
    )
    assert evaluate(project).run_requests == []


def test_series_whose_run_died_is_requested_again(make_project):
    project = make_project()
    project.materialize(project.series(), day_key(3))
    dead = owned_run(project.instance, "binance/btc_usdt/1m", pid=dead_pid())
    (request,) = evaluate(project).run_requests
    assert request.tags[SERIES_TAG] == "binance/btc_usdt/1m"
    assert project.instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE


def test_series_never_fetched_is_requested_from_its_start(make_project):
    project = make_project([market(start=today().replace(day=1) if today().day > 3 else today())])
    (request,) = evaluate(project).run_requests
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == str(project.series().start)
    assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == day_key(0)
