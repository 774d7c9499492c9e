"""The stream service's own heartbeats are what its /metrics exports (the payload keys agree)."""

import signal
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import marketdata
from ..ops.test_exporters import metrics_url

TRADES = "binance/btc_usdt/trades"


def stream_values(url: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        text = answer.read().decode()
    return {
        (s.name, s.labels["stream"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if "stream" in s.labels
    }


@pytest.mark.slow
def test_a_running_stream_is_exported_connected_and_current(stream_config, tmp_path):
    run = marketdata("stream", "--metrics-port", "0", cwd=tmp_path, wait=False)
    try:
        url = metrics_url(run)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            values = stream_values(url)
            if ("marketdata_stream_last_message_age_seconds", TRADES) in values:
                break
            time.sleep(0.5)
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=60)
    assert values[("marketdata_stream_connected", TRADES)] == 1
    assert 0 <= values[("marketdata_stream_last_message_age_seconds", TRADES)] < 30
    assert 0 <= values[("marketdata_stream_heartbeat_age_seconds", TRADES)] < 30
    assert ("marketdata_stream_lag_seconds", TRADES) in values
    assert values[("marketdata_stream_reconnects_total", TRADES)] == 0
