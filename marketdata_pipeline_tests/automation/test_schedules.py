"""Schedules: a cadence per timeframe, the right partition per series, no overlapping runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetKey,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_schedule_context,
)
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._core.remote_representation.handle import RepositoryHandle
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._core.test_utils import create_run_for_test

from marketdata_pipeline.automation.runs import SERIES_TAG
from marketdata_pipeline.automation.schedules import split_name

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
    """Default windows by volume: a month of 1m, a year of 1h. 1m series partitioned by
    month and by day get a schedule each: a schedule's job holds one partitions definition."""
    markets = [market("BTC/USDT", ["1m", "1h"], partition=None), market("ETH/USDT", ["1m"])]
    project = make_project(markets)
    btc, eth = project.series("BTC/USDT"), project.series("ETH/USDT")
    by_month, by_day = (split_name("candles_1m_schedule", s) for s in (btc, eth))
    start = today() - timedelta(days=45)
    assert by_month == f"candles_1m_month_{start:%Y_%m}_01_schedule"
    assert by_day == f"candles_1m_day_{start:%Y_%m_%d}_schedule"
    assert {s.name for s in project.defs.schedules} == {by_month, by_day, "candles_1h_schedule"}
    assert partitions(tick(project, by_month)) == {
        "binance/btc_usdt/1m": str(today().replace(day=1))
    }
    assert partitions(tick(project, by_day)) == {"binance/eth_usdt/1m": str(today())}
    assert partitions(tick(project, "candles_1h_schedule")) == {
        "binance/btc_usdt/1h": str(today().replace(month=1, day=1))
    }


def test_the_ui_lists_schedules_and_the_sensor_as_the_automation_of_each_series(make_project):
    """What the asset page's "Automation details" shows, from Dagster's own view of the code
    location: the schedule and the freshness sensor target the series' assets themselves."""
    project = make_project(
        [market("BTC/USDT", ["1m", "1h"]), market("ETH/USDT", ["1m"], start=today())]
    )
    repository = RemoteRepository(
        RepositorySnap.from_def(project.defs.get_repository_def()),
        RepositoryHandle.for_test(),
        auto_materialize_use_sensors=True,
    )
    eth = split_name("candles_1m_schedule", project.series("ETH/USDT"))
    btc = split_name("candles_1m_schedule", project.series("BTC/USDT"))
    expected = {
        "binance/btc_usdt/candles_1m": {btc, "candle_freshness"},
        "binance/btc_usdt/candles_1h": {"candles_1h_schedule", "candle_freshness"},
        "binance/eth_usdt/candles_1m": {eth, "candle_freshness"},
        # The derived assets add the automation condition's sensor.
        "binance/eth_usdt/indicators_1m": {eth, "candle_freshness", "follow_candles"},
    }
    for path, names in expected.items():
        key = AssetKey(path.split("/"))
        targeting = [*repository.get_schedules_targeting(key)]
        targeting += repository.get_sensors_targeting(key)
        assert {t.name for t in targeting} == names, path


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
