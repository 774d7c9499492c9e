"""One Dagster check result from a list of Findings: the same metadata for every data type."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from ..timeframes import iso
from .findings import Finding


def check_result(
    name: str, findings: list[Finding], rows: int, *, error: bool, extra: dict | None = None
) -> AssetCheckResult:
    failed = [f for f in findings if not f.passed]
    offenders = [f"{f.rule}: {', '.join(f.first_offenders)}" for f in failed]
    return AssetCheckResult(
        check_name=name,
        passed=not failed,
        severity=AssetCheckSeverity.ERROR if error else AssetCheckSeverity.WARN,
        description="; ".join(f"{f.rule}: {f.violations}" for f in failed) or "all rules hold",
        metadata={
            "rows_checked": rows,
            "violations": sum(f.violations for f in findings),
            **{f"violations_{f.rule}": f.violations for f in findings},
            "first_offenders": MetadataValue.md("\n".join(f"- {o}" for o in offenders) or "none"),
            **(extra or {}),
        },
    )


def window_metadata(start_ms: int, end_ms: int) -> dict[str, str]:
    return {"checked_from": iso(start_ms), "checked_until": iso(end_ms)}


def ranges_md(ranges: list[tuple[int, int]]) -> str:
    return "\n".join(f"- {iso(a)} to {iso(b)}" for a, b in ranges[:20]) or "none"
