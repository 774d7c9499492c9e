"""The indicators' asset check: values where TA-Lib has them, none where it has none."""

from __future__ import annotations

import polars as pl
from dagster import AssetCheckResult, AssetCheckSpec, AssetKey

from ..quality.checks import check_result
from .validation import indicator_findings

INDICATOR_VALUES = "indicator_values"


def indicator_check_specs(key: AssetKey) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            INDICATOR_VALUES,
            asset=key,
            description="No value where TA-Lib gives none, none missing after it, RSI in [0, 100].",
        )
    ]


def indicator_result(values: pl.DataFrame, warmup_rows: int) -> AssetCheckResult:
    findings = indicator_findings(values, warmup_rows)
    return check_result(INDICATOR_VALUES, findings, values.height, error=True)
