"""When derived assets (indicators, candles built from trades) recompute a partition."""

from dagster import AutomationCondition

# Recompute a partition whenever the data it reads (candles with their warm-up, trades)
# changes, once that is no longer being written and passes its blocking checks. An update seen while the
# partition runs is kept until the next request; one seen in the very tick after a request
# (when Dagster lets the reset win) still counts, through the bare `updated`.
_updated = AutomationCondition.any_deps_updated()
FOLLOW_UPSTREAM = (
    (_updated | _updated.since(AutomationCondition.newly_requested()))
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("follow upstream")
