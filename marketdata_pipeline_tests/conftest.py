"""Shared fixtures: a real exchange simulator over HTTP and projects configured against it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance

from marketdata_pipeline.config import LoadedConfig, Series, load_config
from marketdata_pipeline.definitions import build_definitions
from marketdata_pipeline.instance import DAGSTER_YAML
from marketdata_pipeline.simulator import Simulator, ccxt_config
from marketdata_pipeline.sync import failure_message, materialize_range

TODAY = datetime.now(UTC).date()


@pytest.fixture(scope="session")
def simulator():
    with Simulator(port=0) as sim:
        yield sim


@pytest.fixture(autouse=True)
def _clean_simulator(request):
    """Every test starts with fresh statistics and no faults on the shared simulator."""
    if "simulator" in request.fixturenames:
        sim = request.getfixturevalue("simulator")
        sim.set_faults(type(sim.faults)())
        sim.reset_stats()


def market(symbol: str = "BTC/USDT", timeframes=("1m",), start: date | None = None) -> dict:
    return {
        "symbol": symbol,
        "timeframes": list(timeframes),
        "start": str(start or TODAY - timedelta(days=10)),
    }


def write_config(folder: Path, url: str, markets: list[dict], **connector) -> Path:
    path = folder / "marketdata.yaml"
    body = {
        "exchanges": [{"id": "binance", "ccxt": ccxt_config(url), "markets": markets, **connector}]
    }
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


@dataclass
class Project:
    """A configured project in a temporary folder, with helpers to materialize its candles."""

    config: LoadedConfig
    instance: DagsterInstance

    @property
    def defs(self):
        return build_definitions(self.config)

    @property
    def store(self):
        return self.defs.resources["candle_store"]

    def series(self, symbol: str = "BTC/USDT", timeframe: str = "1m") -> Series:
        return self.config.select("binance", symbol, timeframe)[0]

    def materialize(
        self, series: Series, first: str, last: str | None = None, raise_on_error: bool = True
    ):
        """One run over the partitions first..last, as a single-run backfill launches it."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        result = materialize_range(job, self.instance, series, first, last or first)
        if raise_on_error and not result.success:
            raise AssertionError(f"run failed: {failure_message(result)}")
        return result


@pytest.fixture
def make_project(tmp_path, simulator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text(DAGSTER_YAML)
    instance = DagsterInstance.get()

    def make(markets: list[dict] | None = None, **connector) -> Project:
        path = write_config(tmp_path, simulator.url, markets or [market()], **connector)
        return Project(load_config(path), instance)

    yield make
    instance.dispose()


def marketdata(*args: str, cwd: Path, wait: bool = True, timeout: float = 300):
    """The real `marketdata` command in a separate process (its Dagster home is cwd's)."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(cwd / "dagster_home"),
        "MARKETDATA_CONFIG": str(cwd / "marketdata.yaml"),
    }
    command = [sys.executable, "-m", "marketdata_pipeline", *args]
    if not wait:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
