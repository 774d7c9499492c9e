"""The stream state record: merged per stream, shared through one file, strict on its fields."""

import pytest

from marketdata_pipeline.streaming import state


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
