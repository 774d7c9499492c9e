"""The stream state record: merged per stream, shared through one file, strict on its fields."""

import os

import pytest

from marketdata_pipeline.streaming import state

from ..conftest import dead_pid


def test_updates_merge_into_each_streams_record(tmp_path):
    path = state.state_path(tmp_path)
    assert state.read(path) == {}
    state.update(path, "binance/btc_usdt/trades", connected=True, rows_written=10)
    state.update(path, "binance/btc_usdt/trades", rows_written=25, reconnects=1)
    state.update(path, "binance/btc_usdt/order_book", resyncs=2)
    assert state.read(path) == {
        "binance/btc_usdt/trades": {"connected": True, "rows_written": 25, "reconnects": 1},
        "binance/btc_usdt/order_book": {"resyncs": 2},
    }


def test_an_unknown_field_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unknown stream state fields \['lagg'\]"):
        state.update(state.state_path(tmp_path), "x", lagg=3)


def test_status_rows_show_a_stream_of_a_dead_process_as_not_connected(tmp_path):
    path = state.state_path(tmp_path)
    fields = dict(connected=True, last_message_ms=9_000, lag_ms=250, reconnects=3, resyncs=1)
    state.update(path, "live", pid=os.getpid(), gaps_repaired=2, rows_written=40, **fields)
    state.update(path, "dead", pid=dead_pid(), **fields)
    rows = state.status_rows(path, ["live", "dead", "never"], 21_000)
    assert rows == [
        {
            "stream": "live",
            "connected": "yes",
            "last_message": "12s ago",
            "lag_ms": 250,
            "reconnects": 3,
            "resyncs": 1,
            "gaps_repaired": 2,
            "rows_written": 40,
        },
        {
            "stream": "dead",
            "connected": "no",
            "last_message": "12s ago",
            "lag_ms": 250,
            "reconnects": 3,
            "resyncs": 1,
            "gaps_repaired": 0,
            "rows_written": 0,
        },
        {
            "stream": "never",
            "connected": "never",
            "last_message": "-",
            "lag_ms": "-",
            "reconnects": 0,
            "resyncs": 0,
            "gaps_repaired": 0,
            "rows_written": 0,
        },
    ]
