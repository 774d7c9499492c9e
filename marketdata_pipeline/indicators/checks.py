"""The indicators' asset check: values where TA-Lib has them, none where it has none."""

from __future__ import annotations

from dagster import AssetCheckSpec, AssetKey

INDICATOR_VALUES = "indicator_values"


def indicator_check_specs(key: AssetKey) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            INDICATOR_VALUES,
            asset=key,
            description="No value where TA-Lib gives none, none missing after it, RSI in [0, 100].",
        )
    ]
