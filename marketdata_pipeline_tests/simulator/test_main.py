"""The simulator as a separate process: CLI entry point and multi-process async clients."""

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator
from marketdata_pipeline.simulator.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def test_parser_maps_every_fault_field() -> None:
    args = vars(
        build_parser().parse_args(
            [
                "--port",
                "0",
                "--fault-5xx",
                "0.1",
                "--drop-rate",
                "0.2",
                "--maintenance",
                "2024-01-01T00:00/2024-01-01T01:00",
                "--weight-limit",
                "50",
                "--symbol",
                "ABC/USDT",
                "--reject",
                "auth",
                "--delist",
                "XRP/USDT@2024-06-01T00:00",
                "--trades-per-minute",
                "1500",
                "--exchange",
                "okx",
                "--speed",
                "20",
                "--ws-depth-skip-rate",
                "0.5",
            ]
        )
    )
    assert (
        args.pop("port") == 0 and args.pop("weight_limit") == 50 and args.pop("host") == "127.0.0.1"
    )
    assert args.pop("symbols") == ["ABC/USDT"] and args.pop("trades_per_minute") == 1500
    assert args.pop("exchange") == "okx" and args.pop("speed") == 20.0
    assert args.pop("delistings") == [("XRP/USDT", 1717200000000)]
    faults = Faults(**args)
    assert faults.error_rate == 0.1 and faults.drop_rate == 0.2
    assert faults.maintenance == ((1704067200000, 1704070800000),)
    assert faults.reject == "auth" and faults.ws_depth_skip_rate == 0.5


def test_speed_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--speed", "0"])
    assert exit_.value.code == 2
    assert "--speed: must be positive" in capsys.readouterr().err


@pytest.fixture
def sim_process() -> Iterator[str]:
    cmd = [
        sys.executable,
        "-m",
        "marketdata_pipeline.simulator",
        "--port",
        "0",
        "--storm-rate",
        "1",
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_fast_process_answers_on_its_fast_clock() -> None:
    cmd = [sys.executable, "-m", "marketdata_pipeline.simulator", "--port", "0", "--speed", "600"]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().rsplit(" ", 1)[1].strip()
        before = requests.get(f"{url}/api/v3/time").json()["serverTime"]
        subprocess.run([sys.executable, "-c", "import time; time.sleep(0.2)"], check=True)
        after = requests.get(f"{url}/api/v3/time").json()["serverTime"]
        assert after - before >= 600 * 200  # at least 0.2 s of real time went by
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_process_with_http_control(sim_process: str) -> None:
    with requests.Session() as http:
        assert http.get(f"{sim_process}/api/v3/ping").status_code == 429
        http.post(f"{sim_process}/sim/faults", json={})
        assert http.get(f"{sim_process}/api/v3/ping").status_code == 200
        assert http.get(f"{sim_process}/sim/stats").json()["status_counts"] == {"429": 1, "200": 1}


CLIENT = textwrap.dedent(
    """
    import asyncio, sys
    import ccxt.async_support as accxt
    from marketdata_pipeline.simulator import ccxt_config

    async def main(url):
        ex = accxt.binance({**ccxt_config(url), "enableRateLimit": False})
        try:
            await ex.load_markets()
            pages = await asyncio.gather(
                *(ex.fetch_ohlcv("BTC/USDT", "1m", since=1_700_000_000_000 + i * 60_000_000, limit=1000) for i in range(10))
            )
            assert all(len(p) == 1000 for p in pages)
        finally:
            await ex.close()

    asyncio.run(main(sys.argv[1]))
    """
)


def test_several_processes_of_async_clients() -> None:
    with Simulator(faults=Faults(latency_ms=100)) as sim:
        clients = [
            subprocess.Popen([sys.executable, "-c", CLIENT, sim.url], env=ENV, cwd=ROOT)
            for _ in range(3)
        ]
        assert [c.wait(timeout=60) for c in clients] == [0, 0, 0]
        stats = sim.stats()
    assert stats["status_counts"] == {"200": 33}
    assert stats["max_concurrent_requests"] >= 10
