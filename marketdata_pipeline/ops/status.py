"""The operator's view: connectors' budgets and pools, and every series' freshness and runs."""

from __future__ import annotations

from dagster import DagsterInstance, DagsterRunStatus
from dagster._utils.schedules import cron_string_iterator

from ..automation.freshness import Lag, lag_of
from ..automation.schedules import cadence_of
from ..config import LoadedConfig, Series
from ..exchange.limits import limits_for
from ..exchange.resource import ExchangeResource, exchange_resource_key, exchange_resources
from ..storage.schema import LIBRARY_OF
from ..storage.store import store_for
from .diagnosis import RunIndex, began_ms, duration, in_progress, run_error, when, why_stale


def connector_rows(config: LoadedConfig, instance: DagsterInstance) -> list[dict]:
    """One row per connector: budget, weight used in the current window, pool usage."""
    resources = exchange_resources(config)
    rows = []
    for connector in config.connectors:
        exchange: ExchangeResource = resources[exchange_resource_key(connector.id)]
        budget = exchange.budget()
        pool = instance.event_log_storage.get_concurrency_info(connector.id)
        rows.append(
            {
                "exchange": connector.id,
                "budget": str(limits_for(connector)),
                "source": limits_for(connector).source,
                "used": budget.used(),
                "paused_s": round(budget.paused_for(), 1),
                "pool": f"{len(pool.claimed_slots)}/{pool.slot_count}",
                "waiting_steps": pool.pending_step_count,
            }
        )
    return rows


def series_rows(config: LoadedConfig, instance: DagsterInstance, now_ms: int) -> list[dict]:
    """One row per series, candles then trades, books and tickers: newest candle (trade,
    snapshot), lag, freshness and why it is stale, runs in progress, last run, next tick, and
    the last failed run's error. Trades are measured like the freshness sensor measures them:
    as a 1m series; books and tickers by their newest snapshot against their period."""
    store = store_for(config)
    index = RunIndex(instance, [c.id for c in config.connectors])
    rows = []
    for series in config.all_series:
        last_ms = store.summary(series, LIBRARY_OF[series.data]).last_ms
        lag = lag_of(series, last_ms, now_ms, config.model.freshness)
        runs = index.of(series)
        failed = index.last(series, [DagsterRunStatus.FAILURE])
        error = run_error(instance, failed.dagster_run.run_id) if failed else "-"
        last = runs.last
        rows.append(
            {
                "series": series.name,
                "last": when(lag.last_ms),
                "lag": duration(lag.lag_ms),
                "state": "stale" if lag.stale else "fresh",
                "why": _why(series, lag, runs, error, now_ms) if lag.stale else "-",
                "in_progress": in_progress(runs, now_ms),
                "last_run": f"{last.dagster_run.status.value.lower()} {when(began_ms(last))}"
                if last
                else "-",
                "next_run": f"{next(_ticks(series, now_ms)):%Y-%m-%d %H:%M}",
                "last_error": error,
            }
        )
    return rows


def _why(series: Series, lag: Lag, runs, error: str, now_ms: int) -> str:
    """Books and tickers come from `marketdata stream`, not from runs (which only compact and
    check them): a stale one means no collector stored its snapshots."""
    if not series.every_seconds:
        return why_stale(lag, runs, error, now_ms)
    if lag.last_ms is None:
        return "never collected: run `marketdata stream`"
    return f"no snapshot since {when(lag.last_ms)}: is `marketdata stream` running?"


def _ticks(series: Series, now_ms: int):
    cron = series.schedule or cadence_of(series)[1]
    return cron_string_iterator(now_ms / 1000, cron, "UTC")
