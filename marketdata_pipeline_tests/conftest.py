"""Shared fixtures: a real exchange simulator over HTTP and projects configured against it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time as clock
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import ccxt
import numpy as np
import polars as pl
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.test_utils import create_run_for_test

from marketdata_pipeline.automation.keys import SERIES_TAG
from marketdata_pipeline.automation.steps import RUN_TAGS
from marketdata_pipeline.cli.backfill import failed_series, materialize_range
from marketdata_pipeline.config import LoadedConfig, Series, load_config
from marketdata_pipeline.definitions import build_definitions
from marketdata_pipeline.ops.instance import DAGSTER_YAML
from marketdata_pipeline.ops.owners import PID_START_TAG, PID_TAG, owner_tags
from marketdata_pipeline.simulator import Simulator, ccxt_config
from marketdata_pipeline.storage.schema import TRADE_CANDLES, TRADE_SCHEMA, TRADES
from marketdata_pipeline.storage.store import store_for
from marketdata_pipeline.timeframes import to_ms
from marketdata_pipeline.trades.candles import trade_candles

pytest_plugins = ["marketdata_pipeline_tests.services"]

# A test that starts this close to midnight UTC waits for the new day, so none straddles it,
# and one in a day's first minute waits until that day has a settled 1m candle (00:01:05).
MIDNIGHT_MARGIN_SECONDS = 30
CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"  # git-ignored: look at the screenshots
# Headless Debian chromium on a closed network: no background connections, no first-run UI.
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIRST_CANDLE_SECONDS = 70
_today = datetime.now(UTC).date()


def today() -> date:
    """The UTC date the running test started on: fixed within a test, never across tests."""
    return _today


@pytest.fixture(autouse=True)
def _pin_today():
    global _today
    now = datetime.now(UTC)
    left = (datetime.combine(now.date() + timedelta(days=1), time(), UTC) - now).total_seconds()
    if left < MIDNIGHT_MARGIN_SECONDS:
        print(f"waiting {left:.0f} s for midnight UTC, so that the test's days do not move")
        clock.sleep(left + 0.1)
    into_day = datetime.now(UTC) - datetime.combine(datetime.now(UTC).date(), time(), UTC)
    if into_day.total_seconds() < FIRST_CANDLE_SECONDS:
        wait = FIRST_CANDLE_SECONDS - into_day.total_seconds()
        print(f"waiting {wait:.0f} s for today's first settled 1m candle")
        clock.sleep(wait)
    _today = datetime.now(UTC).date()


@pytest.fixture(scope="session")
def simulator():
    # A quiet market (about 30,000 aggTrades a day): a day of trades is ~30 requests, not 600.
    with Simulator(port=0, trades_per_minute=30) as sim:
        yield sim


@pytest.fixture(autouse=True)
def _clean_simulator(request):
    """Every test starts with fresh statistics and no faults on the shared simulator."""
    if "simulator" in request.fixturenames:
        sim = request.getfixturevalue("simulator")
        sim.set_faults(type(sim.faults)())
        sim.reset_stats()


def day_key(days_ago: int) -> str:
    return str(today() - timedelta(days=days_ago))


def day_ms(days_ago: int) -> int:
    day = today() - timedelta(days=days_ago)
    return to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


def klines(sim) -> int:
    return sim.stats()["klines_requests"]


def exchange_candles(sim, symbol: str, timeframe: str, start: int, end: int) -> pl.DataFrame:
    """What the exchange serves for [start, end), fetched with plain ccxt and no faults."""
    exchange = ccxt.binance(ccxt_config(sim.url))
    rows, cursor = [], start
    while cursor < end:
        page = exchange.fetch_ohlcv(
            symbol, timeframe, since=cursor, limit=1000, params={"until": end - 1}
        )
        if not page:
            break
        rows += page
        cursor = page[-1][0] + 1
    return pl.DataFrame(
        rows, schema=["open_time", "open", "high", "low", "close", "volume"], orient="row"
    )


def market(
    symbol: str = "BTC/USDT",
    timeframes=("1m",),
    start: date | None = None,
    partition: str | None = "day",
    **extra,
) -> dict:
    """A market entry; daily partitions unless asked (tests of a day of 1m stay small)."""
    entry = {
        "symbol": symbol,
        "timeframes": list(timeframes),
        "start": str(start or today() - timedelta(days=45)),
        **extra,
    }
    return entry | ({"partition": partition} if partition else {})


def write_config(
    folder: Path, url: str, markets: list[dict], settings: dict | None = None, **connector
) -> Path:
    """A config with one binance connector on the simulator; `settings` are top-level sections."""
    path = folder / "marketdata.yaml"
    connector = {"id": "binance", "ccxt": ccxt_config(url), "markets": markets, **connector}
    body = {"exchanges": [connector], **(settings or {})}
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
            raise AssertionError(f"run failed: {failed_series(result, [series])}")
        return result


@pytest.fixture
def make_project(tmp_path, simulator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text(DAGSTER_YAML)
    instance = DagsterInstance.get()

    def make(
        markets: list[dict] | None = None, settings: dict | None = None, **connector
    ) -> Project:
        path = write_config(tmp_path, simulator.url, markets or [market()], settings, **connector)
        return Project(load_config(path), instance)

    yield make
    instance.dispose()


def fake_trades(start_ms: int, count: int, first_id: int = 1000) -> pl.DataFrame:
    """`count` trades from `start_ms`, two a second sharing their millisecond, with values that
    follow from their index (price 50000 + i % 7 / 2, ...): exact data without an exchange."""
    i = np.arange(count)
    price, amount = 50_000 + (i % 7) * 0.5, 0.001 * (1 + i % 5)
    return pl.DataFrame(
        {
            "timestamp": start_ms + i // 2 * 1000,
            "id": first_id + i,
            "price": price,
            "amount": amount,
            "cost": price * amount,
            "side": np.where(i % 3 == 0, "buy", "sell"),
            "first_trade_id": 10 * (first_id + i),
            "last_trade_id": 10 * (first_id + i) + i % 3,
        }
    ).cast(TRADE_SCHEMA)


def store_trades(project: Project, symbol: str, trades: pl.DataFrame, start_ms: int, end_ms: int):
    """Store `trades` as the market's complete trades of [start, end), and the candles built
    from them, as the pipeline would; returns the trade series."""
    store = store_for(project.config)
    for series in project.config.select("binance", symbol):
        built = trade_candles(trades, series.timeframe, start_ms, end_ms)
        store.replace(series, built, start_ms, end_ms, TRADE_CANDLES)
    series = project.config.trades_of(series)
    store.write(series, trades, start_ms, end_ms, library=TRADES)
    store.cover(series, TRADES, (start_ms, end_ms))
    return series


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def run_totals(project: Project, result) -> dict[str, float]:
    """The figures a candle step records on its run (tags `marketdata/...`)."""
    tags = project.instance.get_run_by_id(result.run_id).tags
    return {k: float(tags[f"marketdata/{k}"]) for k in RUN_TAGS if f"marketdata/{k}" in tags}


def metadata_of(result, kind: str = "candles") -> dict:
    """Metadata of the last partition a run materialized for `kind`."""
    events = [
        e.step_materialization_data.materialization
        for e in result.all_events
        if e.is_step_materialization
        and e.step_materialization_data.materialization.asset_key.path[-1].startswith(kind)
    ]
    return {k: v.value for k, v in events[-1].metadata.items()}


def wait_for(condition, seconds: float, what: str, every: float = 1.0):
    """`condition()`'s first truthy value, polled every `every` seconds for up to `seconds`."""
    deadline = clock.monotonic() + seconds
    while clock.monotonic() < deadline:
        if value := condition():
            return value
        clock.sleep(every)
    raise AssertionError(f"not within {seconds}s: {what}")


def waiting_on(path: Path, timeout: float = 60.0) -> None:
    """Return once some process waits for the POSIX lock on `path` (Linux's /proc/locks)."""
    inode = f":{os.stat(path).st_ino} "

    def waited() -> bool:
        return any(
            "->" in line and inode in line for line in Path("/proc/locks").read_text().split("\n")
        )

    wait_for(waited, timeout, f"somebody waiting for {path}", every=0.01)


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def owned_run(instance, series: str, pid: int | None = None, status=DagsterRunStatus.STARTED):
    """A run of `series` executed by process `pid` (default: this one, alive) on this host."""
    tags = owner_tags()
    if pid is not None:
        tags.update({PID_TAG: str(pid), PID_START_TAG: "1"})
    return create_run_for_test(instance, status=status, tags={SERIES_TAG: series, **tags})


def claim_slot(instance, run, step: str = "candles") -> None:
    """`run` holds a slot of the binance pool (4 slots unless already set)."""
    storage = instance.event_log_storage
    if not storage.get_concurrency_info("binance").slot_count:
        storage.set_concurrency_slots("binance", 4)
    assert storage.claim_concurrency_slot("binance", run.run_id, step).is_claimed


def slot_holders(instance) -> list[str]:
    info = instance.event_log_storage.get_concurrency_info("binance")
    return sorted(slot.run_id for slot in info.claimed_slots)
