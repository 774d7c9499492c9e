import socket

import pytest
import requests

from marketdata_pipeline.simulator import Faults, Simulator

from .conftest import FakeClock, klines


def test_lifecycle_and_port_selection(clock: FakeClock) -> None:
    sim = Simulator(clock=clock).start()
    try:
        assert sim.url.startswith("http://127.0.0.1:") and sim.port > 0
        assert requests.get(f"{sim.url}/api/v3/ping", timeout=5).json() == {}
        assert sim.start() is sim  # idempotent
    finally:
        sim.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sim.url}/api/v3/ping", timeout=5)
    sim.stop()  # stopping twice is harmless


def test_port_in_use_raises() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        with pytest.raises(OSError):
            Simulator(port=blocker.getsockname()[1]).start()


def test_http_control_endpoints(sim: Simulator, http: requests.Session) -> None:
    assert http.get(f"{sim.url}/sim/faults").json() == Faults().to_dict()
    answer = http.post(f"{sim.url}/sim/faults", json={"storm_rate": 1.0, "maintenance": [[1, 2]]})
    assert answer.status_code == 200 and answer.json()["storm_rate"] == 1.0
    assert sim.faults == Faults(storm_rate=1.0, maintenance=((1, 2),))
    assert klines(http, sim.url, symbol="BTCUSDT", interval="1m").status_code == 429
    stats = http.get(f"{sim.url}/sim/stats").json()
    assert stats == sim.stats() and stats["count_429"] == 1
    assert http.post(f"{sim.url}/sim/faults", json={"bogus": 1}).status_code == 400
    assert http.post(f"{sim.url}/sim/faults", json={}).json() == Faults().to_dict()
    assert http.post(f"{sim.url}/sim/reset").json() == {"ok": True}
    assert http.get(f"{sim.url}/sim/stats").json()["requests"] == 0


def test_unknown_api_path_is_404(sim: Simulator, http: requests.Session) -> None:
    response = http.get(f"{sim.url}/api/v3/avgPrice", params={"symbol": "BTCUSDT"})
    assert response.status_code == 404 and response.json()["code"] == -1000
