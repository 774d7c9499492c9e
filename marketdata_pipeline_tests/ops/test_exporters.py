"""`marketdata stream --metrics-port` serves the streams' heartbeats as Prometheus metrics."""

from __future__ import annotations

import re
import signal
import socket
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from marketdata_pipeline.coordination import coordination_for

from ..conftest import market, marketdata

UP = {"connected": True, "lag_seconds": 0.5, "reconnects": 4, "resyncs": 2, "gaps_repaired": 1}
DOWN = {"connected": False, "lag_ms": 1500, "reconnects": 9}  # state in milliseconds, too


def metrics_url(run) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = run.stderr.readline()
        if found := re.match(r"metrics on (http://\S+/metrics)$", line.strip()):
            return found.group(1)
        assert line or run.poll() is None, run.stderr.read()
    raise AssertionError("the stream service never said where its metrics are")


def test_the_stream_service_exports_every_streams_heartbeat(make_project):
    project = make_project([market(ticker=True)], ticker_every_seconds=1)
    backend = coordination_for(project.config)
    now = time.time()
    backend.beat("test/a/trades", {**UP, "last_message": now - 3})
    backend.beat("test/b/trades", {**DOWN, "last_message_ms": (now - 60) * 1000})
    backend.beat("test/api", {"pid": 1})  # a long-lived process that is no stream
    run = marketdata(
        "stream", "--metrics-port", "0", "--for", "120", cwd=project.config.path.parent, wait=False
    )
    try:
        with urllib.request.urlopen(metrics_url(run), timeout=30) as answer:
            text = answer.read().decode()
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=60)
    values = {
        (s.name, s.labels["stream"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("stream", "").startswith("test/")
    }
    a, b = "test/a/trades", "test/b/trades"
    assert {k: v for k, v in values.items() if "age_seconds" not in k[0]} == {
        ("marketdata_stream_connected", a): 1.0,
        ("marketdata_stream_connected", b): 0.0,
        ("marketdata_stream_lag_seconds", a): 0.5,
        ("marketdata_stream_lag_seconds", b): 1.5,
        ("marketdata_stream_reconnects_total", a): 4.0,
        ("marketdata_stream_reconnects_total", b): 9.0,
        ("marketdata_stream_resyncs_total", a): 2.0,
        ("marketdata_stream_resyncs_total", b): 0.0,
        ("marketdata_stream_gaps_repaired_total", a): 1.0,
        ("marketdata_stream_gaps_repaired_total", b): 0.0,
    }
    assert 3 <= values[("marketdata_stream_last_message_age_seconds", a)] < 60
    assert 60 <= values[("marketdata_stream_last_message_age_seconds", b)] < 120
    assert 0 <= values[("marketdata_stream_heartbeat_age_seconds", a)] < 60


def test_a_busy_metrics_port_is_one_line(make_project):
    project = make_project([market(ticker=True)])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = marketdata(
            "stream", "--metrics-port", str(port), "--for", "1", cwd=project.config.path.parent
        )
    assert (run.returncode, run.stderr) == (
        2,
        f"error: port {port} is in use; pass --metrics-port\n",
    )
