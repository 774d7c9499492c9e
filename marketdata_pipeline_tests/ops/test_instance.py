"""The project's Dagster instance: initialized once, even by several processes at once."""

import multiprocessing
import os
from pathlib import Path

from dagster import DagsterInstance

from marketdata_pipeline.config import load_config
from marketdata_pipeline.ops.instance import project_instance

CONFIG = Path(__file__).parents[2] / "marketdata.yaml"


def _open(home: str) -> None:
    os.environ["DAGSTER_HOME"] = home
    project_instance(load_config(CONFIG)).dispose()


def test_processes_starting_on_a_new_home_at_once_all_succeed(tmp_path, monkeypatch):
    home = str(tmp_path / "home")
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_open, args=(home,)) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0] * 6
    monkeypatch.setenv("DAGSTER_HOME", home)
    with DagsterInstance.get() as instance:
        assert instance.event_log_storage.get_concurrency_info("binance").slot_count == 4
