"""When derived assets (indicators, candles built from trades) recompute a partition."""

from dagster import AutomationCondition

# A partition is behind once a partition it reads (candles with their warm-up, trades) was
# materialized after it. Both sides carry their materialization times, so a run that wrote the
# candles and then the partition (`marketdata sync`, a scheduled or catch-up run) leaves nothing
# to do, even when the automation sees both in one tick. A failed execution is not retried in a
# loop: the next run that covers the partition (schedule, sensor, sync) computes it.
_updated = AutomationCondition.newly_updated()
FOLLOW_UPSTREAM = (
    AutomationCondition.any_deps_match(_updated).since(_updated)
    & ~AutomationCondition.execution_failed()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("follow upstream")
