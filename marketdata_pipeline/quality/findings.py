"""Data-quality rules as plain data: each rule over a polars frame gives a Finding.

Row rules are boolean polars expressions (True = offending row) evaluated in one ``select``, so
a year of candles validates in a fraction of a second. Every data type's checks use these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from ..timeframes import iso

MAX_OFFENDERS = 10


@dataclass(frozen=True)
class Finding:
    """The outcome of one rule over one frame; ``mask`` marks offending rows of row rules."""

    rule: str
    rows_checked: int
    violations: int
    first_offenders: list[str]
    mask: pl.Series | None = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.violations == 0

    @property
    def share(self) -> float:
        return self.violations / max(self.rows_checked, 1)


def epoch_ms() -> pl.Expr:
    return pl.col("open_time").dt.epoch("ms")


def value(name: str) -> pl.Expr:
    """A numeric column with NaN as null: polars orders NaN above every number in comparisons."""
    return pl.col(name).cast(pl.Float64).fill_nan(None)


def row_findings(frame: pl.DataFrame, rules: dict[str, pl.Expr]) -> list[Finding]:
    masks = frame.select(  # the first column is the time index: open_time, timestamp
        pl.col(frame.columns[0]).dt.epoch("ms").alias("__t"),
        *(e.fill_null(False).alias(r) for r, e in rules.items()),
    )
    findings = []
    for rule in rules:
        mask = masks.get_column(rule)
        offenders = masks.get_column("__t").gather(mask.arg_true().head(MAX_OFFENDERS))
        findings.append(Finding(rule, frame.height, mask.sum(), [iso(t) for t in offenders], mask))
    return findings


def severity_is_error(finding: Finding, threshold: float) -> bool:
    """Whether a finding should fail its check rather than warn: its share exceeds threshold."""
    return finding.share > threshold


def merge_findings(a: list[Finding], b: list[Finding]) -> list[Finding]:
    """Findings of two consecutive frames as one, rule by rule (either may be empty)."""
    if not a or not b:
        return a or b
    return [
        Finding(
            x.rule,
            x.rows_checked + y.rows_checked,
            x.violations + y.violations,
            (x.first_offenders + y.first_offenders)[:MAX_OFFENDERS],
            None if x.mask is None or y.mask is None else pl.concat([x.mask, y.mask]),
        )
        for x, y in zip(a, b, strict=True)
    ]
