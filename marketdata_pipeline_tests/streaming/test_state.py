"""The stream state record: a heartbeat per stream in the coordination backend, strict on
its fields; a stream whose service stopped beating is not connected."""

import pytest

from marketdata_pipeline.coordination.embedded import EmbeddedCoordination
from marketdata_pipeline.streaming import state


def test_each_update_replaces_the_streams_record(tmp_path):
    backend = EmbeddedCoordination(tmp_path)
    assert state.read(backend) == {}
    state.update(backend, "binance/btc_usdt/trades", connected=True, rows_written=10)
    state.update(backend, "binance/btc_usdt/trades", connected=True, rows_written=25)
    state.update(backend, "binance/btc_usdt/order_book", connected=False, resyncs=2)
    backend.beat("api", {"up": True})  # another long-lived process: not a stream
    records = {
        n: {k: v for k, v in r.items() if k != "age_seconds"}
        for n, r in state.read(backend).items()
    }
    assert records == {
        "binance/btc_usdt/trades": {"connected": True, "rows_written": 25},
        "binance/btc_usdt/order_book": {"connected": False, "resyncs": 2},
    }


def test_an_unknown_field_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unknown stream state fields \['lagg'\]"):
        state.update(EmbeddedCoordination(tmp_path), "x", connected=True, lagg=3)


def test_status_rows_show_a_stream_whose_service_stopped_beating_as_not_connected(
    tmp_path, monkeypatch
):
    backend = EmbeddedCoordination(tmp_path)
    fields = dict(connected=True, last_message_ms=9_000, lag_ms=250, reconnects=3, resyncs=1)
    state.update(backend, "dead", **fields)
    monkeypatch.setattr(state, "GONE_SECONDS", 0.0)  # every beat so far is too old
    state.update(backend, "live", gaps_repaired=2, rows_written=40, **fields)
    rows = state.status_rows(backend, ["live", "dead", "never"], 21_000)
    common = {"last_message": "12s ago", "lag_ms": 250, "reconnects": 3, "resyncs": 1}
    assert rows == [
        {"stream": "live", "connected": "no", **common, "gaps_repaired": 2, "rows_written": 40},
        {"stream": "dead", "connected": "no", **common, "gaps_repaired": 0, "rows_written": 0},
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
    monkeypatch.setattr(state, "GONE_SECONDS", 30.0)
    assert [r["connected"] for r in state.status_rows(backend, ["live", "dead"], 21_000)] == [
        "yes",
        "yes",
    ]
