"""Schedules: a cadence per timeframe, the right partition per series, no overlapping runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_schedule_context,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._core.test_utils import create_run_for_test

from marketdata_pipeline.automation.runs import SERIES_TAG

from ..conftest import claim_slot, dead_pid, market, owned_run, slot_holders, today


def tick(project, name: str, when: datetime | None = None):
    """Evaluate a schedule at `when`, by default 10:01 today."""
    defs = project.defs
    context = build_schedule_context(
        instance=project.instance,
        scheduled_execution_time=when or datetime(*today().timetuple()[:3], 10, 1, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    return defs.resolve_schedule_def(name).evaluate_tick(context)


def partitions(result) -> dict[str, str]:
    out = {}
    for request in result.run_requests:
        assert (
            request.tags[ASSET_PARTITION_RANGE_START_TAG]
            == request.tags[ASSET_PARTITION_RANGE_END_TAG]
        )
        out[request.tags[SERIES_TAG]] = request.tags[ASSET_PARTITION_RANGE_START_TAG]
    return out


def test_one_schedule_per_timeframe_with_a_cadence_from_it(make_project):
    project = make_project(
        [market("BTC/USDT", ["1m", "1h", "1d"]), market("ETH/USDT", ["1m", "1w"])]
    )
    crons = {s.name: s.cron_schedule for s in project.defs.schedules}
    assert crons == {
        "candles_1m_schedule": "* * * * *",
        "candles_1h_schedule": "1 * * * *",
        "candles_1d_schedule": "2 0 * * *",
        "candles_1w_schedule": "2 0 * * 1",
    }


def test_each_series_gets_the_partition_holding_the_tick(make_project):
    """Default windows by volume: a month of 1m, a year of 1h."""
    markets = [market("BTC/USDT", ["1m", "1h"], partition=None), market("ETH/USDT", ["1m"])]
    project = make_project(markets)
    assert partitions(tick(project, "candles_1m_schedule")) == {
        "binance/btc_usdt/1m": str(today().replace(day=1)),
        "binance/eth_usdt/1m": str(today()),
    }
    assert partitions(tick(project, "candles_1h_schedule")) == {
        "binance/btc_usdt/1h": str(today().replace(month=1, day=1))
    }


def test_a_market_cron_override_gets_its_own_schedule(make_project):
    project = make_project(
        [market("BTC/USDT", ["1m"]), {**market("ETH/USDT", ["1m"]), "schedule": "*/10 * * * *"}]
    )
    crons = {s.name: s.cron_schedule for s in project.defs.schedules}
    assert crons == {
        "candles_1m_schedule": "* * * * *",
        "binance_eth_usdt_1m_schedule": "*/10 * * * *",
    }
    assert partitions(tick(project, "candles_1m_schedule")) == {"binance/btc_usdt/1m": str(today())}


def test_a_series_still_running_is_skipped(make_project):
    project = make_project([market("BTC/USDT"), market("ETH/USDT")])
    create_run_for_test(
        project.instance, status=DagsterRunStatus.STARTED, tags={SERIES_TAG: "binance/btc_usdt/1m"}
    )
    assert partitions(tick(project, "candles_1m_schedule")) == {"binance/eth_usdt/1m": str(today())}
    create_run_for_test(
        project.instance,
        status=DagsterRunStatus.NOT_STARTED,
        tags={SERIES_TAG: "binance/eth_usdt/1m"},
    )
    assert tick(project, "candles_1m_schedule").skip_message


def test_a_series_whose_run_died_is_requested_again_and_the_slot_freed(make_project):
    project = make_project([market("BTC/USDT"), market("ETH/USDT")])
    instance = project.instance
    dead = owned_run(instance, "binance/btc_usdt/1m", pid=dead_pid())
    owned_run(instance, "binance/eth_usdt/1m")  # alive: still running, still skipped
    claim_slot(instance, dead)
    assert partitions(tick(project, "candles_1m_schedule")) == {"binance/btc_usdt/1m": str(today())}
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert slot_holders(instance) == []


def test_schedules_and_the_sensor_start_as_configured(make_project):
    running = make_project()
    assert {s.default_status for s in running.defs.schedules} == {DefaultScheduleStatus.RUNNING}
    stopped = make_project(settings={"automation": {"running": False}}).defs
    assert {s.default_status for s in stopped.schedules} == {DefaultScheduleStatus.STOPPED}
    assert (
        stopped.resolve_sensor_def("candle_freshness").default_status == DefaultSensorStatus.STOPPED
    )


def test_a_tick_at_a_partition_boundary_also_fetches_the_last_candle_before_it(make_project):
    project = make_project([market("BTC/USDT", ["1m"])])
    midnight = datetime(today().year, today().month, today().day, tzinfo=UTC)
    (request,) = tick(project, "candles_1m_schedule", midnight).run_requests
    yesterday = str((midnight - timedelta(days=1)).date())
    assert (
        request.tags[ASSET_PARTITION_RANGE_START_TAG],
        request.tags[ASSET_PARTITION_RANGE_END_TAG],
    ) == (
        yesterday,
        str(today()),
    )


def test_trades_every_minute_and_collected_data_once_a_day_for_the_day_that_ended(make_project):
    book = {"depth": 5, "every_seconds": 10}
    project = make_project([market("BTC/USDT", ["1m"], trades=True, order_book=book, ticker=True)])
    crons = {s.name: s.cron_schedule for s in project.defs.schedules}
    assert crons == {
        "candles_1m_schedule": "* * * * *",
        "trades_schedule": "* * * * *",
        "snapshots_daily_schedule": "5 0 * * *",
    }
    assert partitions(tick(project, "trades_schedule")) == {"binance/btc_usdt/trades": str(today())}
    after_midnight = datetime(today().year, today().month, today().day, 0, 5, tzinfo=UTC)
    requests = tick(project, "snapshots_daily_schedule", after_midnight).run_requests
    ranges = {
        r.tags[SERIES_TAG]: (
            r.tags[ASSET_PARTITION_RANGE_START_TAG],
            r.tags[ASSET_PARTITION_RANGE_END_TAG],
        )
        for r in requests
    }
    day = (str(today() - timedelta(days=1)), str(today()))
    assert ranges == {"binance/btc_usdt/order_book": day, "binance/btc_usdt/ticker": day}
    keys = {
        r.tags[SERIES_TAG]: sorted("/".join(k.path) for k in r.asset_selection) for r in requests
    }
    assert keys["binance/btc_usdt/order_book"] == [
        "binance/btc_usdt/book_metrics",
        "binance/btc_usdt/order_book",
    ]
