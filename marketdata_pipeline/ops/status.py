"""The operator's view: connectors' budgets and pools, and every series' freshness and runs."""

from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._utils.schedules import cron_string_iterator

from ..automation.freshness import lag_of
from ..automation.runs import series_of
from ..automation.schedules import CADENCE
from ..config import LoadedConfig, Series
from ..exchange.resource import ExchangeResource, exchange_resource_key, exchange_resources
from ..storage.store import store_for
from ..timeframes import from_ms

# How far back `status` looks for a series' last run and last failure.
RECENT_RUNS = 500


def connector_rows(config: LoadedConfig, instance: DagsterInstance) -> list[dict]:
    """One row per connector: budget, weight used in the current window, pool usage."""
    resources = exchange_resources(config)
    rows = []
    for connector in config.connectors:
        exchange: ExchangeResource = resources[exchange_resource_key(connector.id)]
        budget = exchange.budget()
        pool = instance.event_log_storage.get_concurrency_info(connector.id)
        limit = connector.rate_limit
        rows.append(
            {
                "exchange": connector.id,
                "budget": f"{limit.weight}/{limit.period_seconds:g}s",
                "used": budget.used(),
                "paused_s": round(budget.paused_for(), 1),
                "pool": f"{len(pool.claimed_slots)}/{pool.slot_count}",
                "waiting_steps": len(pool.pending_steps),
            }
        )
    return rows


def series_rows(config: LoadedConfig, instance: DagsterInstance, now_ms: int) -> list[dict]:
    """One row per series: newest candle, lag, freshness, last run, next tick, last error."""
    store = store_for(config)
    rows = []
    for series in config.series:
        lag = lag_of(series, store.summary(series).last_ms, now_ms, config.model.freshness)
        last_run = _runs(instance, series, limit=1)
        failed = _runs(instance, series, limit=1, statuses=[DagsterRunStatus.FAILURE])
        rows.append(
            {
                "series": series.name,
                "last_candle": _when(lag.last_ms),
                "lag": _duration(lag.lag_ms),
                "state": "stale" if lag.stale else "fresh",
                "last_run": f"{last_run[0].status.value.lower()}" if last_run else "-",
                "next_run": f"{next(_ticks(series, now_ms)):%Y-%m-%d %H:%M}",
                "last_error": _error(instance, failed[0].run_id) if failed else "-",
            }
        )
    return rows


def _runs(instance: DagsterInstance, series: Series, limit: int, statuses=None):
    """The series' latest runs, alone or grouped with others (see `series_of`)."""
    records = instance.get_run_records(RunsFilter(statuses=statuses or []), limit=RECENT_RUNS)
    return [r.dagster_run for r in records if series.name in series_of(r.dagster_run)][:limit]


def _ticks(series: Series, now_ms: int):
    cron = series.schedule or CADENCE[series.timeframe.name]
    return cron_string_iterator(now_ms / 1000, cron, "UTC")


def _error(instance: DagsterInstance, run_id: str) -> str:
    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = record.dagster_event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            return data.user_failure_data.description
        return data.error.message.strip().splitlines()[-1] if data.error else "step failed"
    return "run failed"


def _when(ts_ms: int | None) -> str:
    return f"{from_ms(ts_ms):%Y-%m-%d %H:%M}" if ts_ms is not None else "-"


def _duration(ms: int) -> str:
    minutes = ms // 60_000
    return (
        f"{minutes // 1440}d{minutes % 1440 // 60}h"
        if minutes >= 1440
        else f"{minutes // 60}h{minutes % 60:02d}m"
    )
