"""Self-healing: a run whose process died is failed (or canceled) and its pool slots freed,
by marketdata itself and by Dagster's run monitoring through the project's launcher."""

import logging

from dagster import DagsterRunStatus
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from marketdata_pipeline.ops.heal import ENDED, free_slots_of_ended_runs, heal_dead_runs
from marketdata_pipeline.ops.launcher import MonitoredRunLauncher

from ..conftest import claim_slot, dead_pid, owned_run, slot_holders


def status(instance, run) -> DagsterRunStatus:
    return instance.get_run_by_id(run.run_id).status


def test_a_dead_run_is_failed_and_its_slot_freed_a_live_one_is_untouched(make_project):
    project = make_project()
    instance = project.instance
    pid = dead_pid()
    dead = owned_run(instance, "binance/btc_usdt/1m", pid=pid)
    alive = owned_run(instance, "binance/eth_usdt/1m")
    claim_slot(instance, dead)
    claim_slot(instance, alive)

    healed = heal_dead_runs(instance)

    assert [(h.run_id, h.series, h.status) for h in healed] == [
        (dead.run_id, "binance/btc_usdt/1m", "failed")
    ]
    assert status(instance, dead) == DagsterRunStatus.FAILURE
    assert status(instance, alive) == DagsterRunStatus.STARTED
    assert slot_holders(instance) == [alive.run_id]
    assert heal_dead_runs(instance) == []  # nothing left to heal


def test_a_finished_run_s_slots_are_freed_after_the_daemon_s_grace(make_project):
    """A run interrupted with its steps ends holding slots; with no daemon left to free them,
    marketdata does, once the instance's free_slots_after_run_end_seconds (15) have passed."""
    instance = make_project().instance
    ended = owned_run(instance, "binance/btc_usdt/1m")
    alive = owned_run(instance, "binance/eth_usdt/1m")
    claim_slot(instance, ended)
    claim_slot(instance, alive)
    instance.report_run_failed(instance.get_run_by_id(ended.run_id), "interrupted")
    end = instance.get_run_record_by_id(ended.run_id).end_time

    assert free_slots_of_ended_runs(instance, end + 14) == []
    assert slot_holders(instance) == sorted([ended.run_id, alive.run_id])
    (freed,) = free_slots_of_ended_runs(instance, end + 15)
    assert (freed.run_id, freed.status) == (ended.run_id, ENDED)
    assert str(freed).endswith("ended: failure while holding pool slots; its pool slots are freed")
    assert slot_holders(instance) == [alive.run_id]


def test_a_dead_run_being_canceled_is_canceled(make_project):
    project = make_project()
    run = owned_run(project.instance, "binance/btc_usdt/1m", dead_pid(), DagsterRunStatus.CANCELING)
    (healed,) = heal_dead_runs(project.instance)
    assert healed.status == "canceled"
    assert status(project.instance, run) == DagsterRunStatus.CANCELED


def test_dagster_run_monitoring_fails_a_dead_run_through_the_launcher(make_project):
    project = make_project()
    instance = project.instance
    assert isinstance(instance.run_launcher, MonitoredRunLauncher)
    assert instance.run_monitoring_enabled
    dead = owned_run(instance, "binance/btc_usdt/1m", pid=dead_pid())
    alive = owned_run(instance, "binance/eth_usdt/1m")
    logger = logging.getLogger("test")
    for run in (dead, alive):
        monitor_started_run(instance, None, instance.get_run_record_by_id(run.run_id), logger)
    assert status(instance, dead) == DagsterRunStatus.FAILURE
    assert status(instance, alive) == DagsterRunStatus.STARTED
