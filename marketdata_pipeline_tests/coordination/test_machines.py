"""Machines: separate processes in separate working directories (each its own `.data/` and
Dagster home), sharing only Postgres and S3, behave as one."""

from datetime import timedelta
from pathlib import Path

import pytest

from marketdata_pipeline.config import load_config
from marketdata_pipeline.coordination import coordination_from
from marketdata_pipeline.simulator import Faults, Simulator
from marketdata_pipeline.storage.store import store_for

from ..conftest import market, marketdata, today, write_config
from .test_budget import audited, most_in_any_window

pytestmark = pytest.mark.slow


def machine(folder: Path, url: str, markets: list[dict], shared: dict, **connector) -> Path:
    folder.mkdir()
    write_config(folder, url, markets, shared, **connector)
    return folder


def sync_everywhere(folders: list[Path], ranges: list[tuple]) -> None:
    runs = [
        marketdata("sync", *args, cwd=folder, wait=False)
        for folder, args in zip(folders, ranges, strict=True)
    ]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-3000:]


def test_four_machines_syncing_one_series_store_every_candle_once(
    simulator, pg_url, s3_uri, tmp_path
):
    shared = {"storage": s3_uri, "coordination": pg_url}
    start = today() - timedelta(days=4)
    markets = [market(start=start)]
    folders = [
        machine(tmp_path / f"m{i}", simulator.url, markets, shared, pages_per_write=1)
        for i in range(4)
    ]
    simulator.set_faults(Faults(latency_ms=20))
    days = [(4, 1), (3, 1), (4, 2), (2, 1)]  # overlapping ranges, in days ago
    sync_everywhere(
        folders,
        [
            ("--start", str(today() - timedelta(days=a)), "--end", str(today() - timedelta(days=b)))
            for a, b in days
        ],
    )
    config = load_config(folders[0] / "marketdata.yaml")
    stored = store_for(config).read(config.series[0])
    assert stored["open_time"].is_unique().all()
    assert stored.height == 3 * 1440
    assert stored["open_time"].diff().drop_nulls().dt.total_minutes().max() == 1
    assert all(not (f / ".data" / "arcticdb").exists() for f in folders)  # all of it on S3


def test_four_machines_share_one_budget_and_the_exchange_serves_no_429(pg_url, s3_uri, tmp_path):
    """Four syncs of different series against an exchange whose budget fits one of them a
    minute: shared in Postgres, the budget holds across the machines. Every grant is audited
    in the database, so the windows are checked on the times the budget decided; the exchange
    refuses nothing."""
    budget = 50  # one sync needs 44: markets twice (check, then run: 2 x 20) + two pages (2 x 2)
    shared = {"storage": s3_uri, "coordination": pg_url}
    backend = coordination_from({"data_dir": str(tmp_path), "url": pg_url})
    grants = audited({"url": pg_url}, backend.budget("binance", budget, 60))
    day = str(today() - timedelta(days=2))
    with Simulator(weight_limit=budget) as sim:
        symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT"]
        folders = [
            machine(
                tmp_path / f"m{i}",
                sim.url,
                [market(s, start=today() - timedelta(days=3))],
                shared,
                rate_limit={"weight": budget},
            )
            for i, s in enumerate(symbols)
        ]
        end = str(today() - timedelta(days=1))
        sync_everywhere(folders, [("--start", day, "--end", end)] * 4)
        stats = sim.stats()
    granted = grants()
    assert sum(w for _, w in granted) == 4 * 44
    assert most_in_any_window(granted, 60.5) <= budget
    assert stats["klines_requests"] == 4 * 2
    # The exchange's own verdict (Binance counts weight per calendar minute): never refused.
    # Its rolling-60 s view is not asserted: on a loaded machine a process may send a request
    # more than the budget's 0.5 s arrival margin after its grant, which the audit above covers.
    assert stats["count_429"] == 0
