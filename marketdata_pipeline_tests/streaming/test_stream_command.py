"""`marketdata stream` as a process: kill -9 loses at most its unflushed trades, and the restart
repairs them from the last stored id; SIGTERM flushes and exits 0."""

import os
import signal
import time

import pytest

from marketdata_pipeline.coordination import coordination_for
from marketdata_pipeline.storage.schema import TRADES
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.streaming import state

from ..conftest import marketdata
from .test_service import check_trades, of


def stored_ids(config) -> tuple[int, int] | None:
    summary = store_for(config).summary(of(config, "trades"), TRADES)
    return None if summary.last_ms is None else (summary.first_ms, summary.last_ms)


def wait_for_trades(config, pid: int, rows: int) -> None:
    """Until process `pid` has written `rows` trades (its stream state says so)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        record = state.read(coordination_for(config)).get("binance/btc_usdt/trades", {})
        if record.get("pid") == pid and record.get("rows_written", 0) >= rows:
            return
        time.sleep(0.3)
    raise AssertionError(f"process {pid} wrote fewer than {rows} trades in 90 s")


@pytest.mark.slow
def test_kill_9_then_a_restart_repairs_the_lost_seconds(fast_sim, stream_config, tmp_path):
    first = marketdata("stream", cwd=tmp_path, wait=False)
    wait_for_trades(stream_config, first.pid, 20)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = stored_ids(stream_config)
    assert before is not None, first.stderr.read()
    time.sleep(3)  # a simulated minute of trades that nobody receives

    second = marketdata("stream", cwd=tmp_path, wait=False)
    wait_for_trades(stream_config, second.pid, 100)
    second.send_signal(signal.SIGTERM)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "event=gap_repaired" in err and "event=flush" in err
    assert out.startswith("stored ")
    trades = check_trades(fast_sim, stream_config)  # one contiguous history, kill and all
    assert int(trades["timestamp"].dt.epoch("ms").max()) > before[1] + 60_000
