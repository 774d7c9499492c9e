"""What the benchmark scripts share: timing, a free port, the simulator in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


def best_time(run: Callable[[], object], repeat: int) -> float:
    """Best wall time of `repeat` runs after one warm-up."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def best_times_alternating(runs: list[Callable[[], object]], repeat: int) -> list[float]:
    """Best wall time of each run, the runs taking turns (one warm-up each first), so that load
    from other processes on a shared machine weighs on every side alike."""
    for run in runs:
        run()
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


@dataclass
class Measure:
    wall: float
    cpu: float
    rss_mb: float

    def ratio(self, base: Measure) -> str:
        return f"wall {self.wall / base.wall:.2f}x, CPU {self.cpu / base.cpu:.2f}x"

    def __str__(self) -> str:
        return f"{self.wall:6.2f} s wall {self.cpu:6.2f} s CPU {self.rss_mb:6.0f} MB peak"


def measure(args: list[str], **kwargs) -> Measure:
    """Run a command to completion; its own wall time, CPU time and peak RSS."""
    began = datetime.now()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    wall = (datetime.now() - began).total_seconds()
    if status:
        raise RuntimeError(f"{args[:4]} failed: {process.stderr.read().decode()[-2000:]}")
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator(
    port: int,
    weight_limit: int,
    latency_ms: int = 0,
    symbols: list[str] = (),
    trades_per_minute: int | None = None,
    speed: float = 1.0,
) -> subprocess.Popen:
    """The exchange simulator in a process of its own, so it does not share the client's GIL;
    `symbols` are listed beside the default markets."""
    command = [sys.executable, "-m", "marketdata_pipeline.simulator", "--port", str(port)]
    command += ["--weight-limit", str(weight_limit), "--latency-ms", str(latency_ms)]
    if trades_per_minute:
        command += ["--trades-per-minute", str(trades_per_minute)]
    if speed != 1.0:
        command += ["--speed", str(speed)]
    server = subprocess.Popen(
        [*command, *(f"--symbol={s}" for s in symbols)], stdout=subprocess.DEVNULL
    )
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    raise RuntimeError("simulator did not start")


def candle_step_metadata(dagster_home: str, key: list[str]) -> dict:
    """Metadata of the latest materialization of a candle asset in a Dagster home."""
    from dagster import AssetKey, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(dagster_home)) as instance:
        event = instance.get_latest_materialization_event(AssetKey(key))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}
