"""The `stream_live` check: the freshness sensor fails it, without a run, while a streamed
series' stream is stalled, down or never started, and passes it while the stream is live."""

import time

import pytest
from dagster import AssetCheckEvaluation, AssetKey

from marketdata_pipeline.automation.streams import stream_verdict
from marketdata_pipeline.coordination import Beat, coordination_for
from marketdata_pipeline.streaming import state

from ..conftest import market
from .test_sensors import evaluate, lags

KEY = AssetKey(["binance", "btc_usdt", "candles_1m"])


def stream_checks(result) -> dict[AssetKey, AssetCheckEvaluation]:
    return {e.asset_key: e for e in result.asset_events if isinstance(e, AssetCheckEvaluation)}


def test_only_streamed_series_get_the_check_and_a_missing_stream_fails_it(make_project):
    project = make_project([market("BTC/USDT", stream=True), market("ETH/USDT")])
    result = evaluate(project)
    (check,) = stream_checks(result).values()
    assert (check.asset_key, check.check_name, check.passed) == (KEY, "stream_live", False)
    assert check.description == "binance/btc_usdt/1m: stream never streamed"
    assert lags(result)["binance/btc_usdt/candles_1m"]["stale"] is True


def test_a_live_stream_passes_and_a_dropped_one_fails(make_project):
    project = make_project([market("BTC/USDT", stream=True)])
    backend = coordination_for(project.config)
    live = dict(connected=True, last_message_ms=int(time.time() * 1000), lag_ms=120)
    state.update(backend, "binance/btc_usdt/1m", **live)
    assert stream_checks(evaluate(project))[KEY].passed is True
    state.update(backend, "binance/btc_usdt/1m", **{**live, "connected": False})
    check = stream_checks(evaluate(project))[KEY]
    assert (check.passed, check.metadata["problem"].value) == (False, "not connected")


@pytest.mark.parametrize(
    ("payload", "age", "problem"),
    [
        ({"connected": True, "last_message_ms": 0}, 1.0, "no message for"),
        ({"connected": True}, 400.0, "no message for 400s"),
        ({"connected": False}, 1.0, "not connected"),
        ({"connected": True}, 1.0, None),
        # Its machine's clock is 10 minutes behind ours: its own count of silence decides.
        ({"connected": True, "last_message_ms": 0, "silent_ms": 2000}, 1.0, None),
        (
            {"connected": True, "last_message_ms": 4e12, "silent_ms": 200_000},
            1.0,
            "no message for 201s",
        ),
    ],
)
def test_the_verdict_names_what_stalled(make_project, payload, age, problem):
    project = make_project([market("BTC/USDT", stream=True)])
    (series,) = project.config.series
    beat = Beat(series.name, time.time() - age, age, payload)
    found = stream_verdict(series, [beat])["metadata"]["problem"]
    assert found == "-" if problem is None else found.startswith(problem)


def test_the_check_runs_from_the_ui_with_the_same_verdict(make_project):
    project = make_project([market("BTC/USDT", stream=True), market("ETH/USDT")])
    (check,) = project.defs.asset_checks
    assert {k.asset_key for k in check.check_keys} == {KEY}
    assert (check().check_name, check().passed) == ("stream_live", False)
    state.update(coordination_for(project.config), "binance/btc_usdt/1m", connected=True)
    assert check().passed is True
