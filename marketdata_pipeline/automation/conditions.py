"""When derived assets (indicators, candles built from trades) recompute a partition."""

from dagster import AutomationCondition

# A partition is behind once a partition it reads (candles with their warm-up, trades) was
# materialized after it. Both sides carry their materialization times, so a run that wrote the
# candles and then the partition (`marketdata sync`, a scheduled or catch-up run) leaves nothing
# to do, even when the automation sees both in one tick. A failed execution is not retried in a
# loop, only once a partition it reads is materialized again (or by any run that covers it).
_updated = AutomationCondition.newly_updated()
_deps_updated = AutomationCondition.any_deps_match(_updated)
FOLLOW_UPSTREAM = (
    _deps_updated.since(_updated)
    & ~AutomationCondition.execution_failed().since(_deps_updated)
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("follow upstream")
