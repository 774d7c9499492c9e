"""deploy/grafana/dashboard.json shows only metrics the project exports, and all of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dagster import DagsterInstance
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from marketdata_pipeline.ops.exporters import project_registry

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "dashboard.json"
SUFFIXES = {"counter": ["_total"], "gauge": [""], "summary": ["_sum", "_count"]}
KEYWORDS = {"and", "or", "unless", "bool", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (no PromQL parser ships for Python)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\b[a-zA-Z_]\w*\s*\(", "(", expr)  # functions and aggregations
    words = re.findall(r"(?<![\w.])[a-zA-Z_:][\w:]*", expr)
    return set(words) - KEYWORDS


def exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def exported(make_project) -> set[str]:
    config = make_project().config
    with DagsterInstance.ephemeral() as instance:
        registry = project_registry(config, lambda: instance)
        text = generate_latest(registry).decode()
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES[family.type]
    }


def test_metric_names_are_read_from_promql():
    expr = 'sum by (exchange, status) (rate(marketdata_requests_total{status=~"429|418"}[5m])) * 60'
    assert metric_names(expr) == {"marketdata_requests_total"}
    assert metric_names("max by (x) (a_used / on(x) b_limit) and c") == {"a_used", "b_limit", "c"}


def test_dashboard_reads_only_exported_metrics_and_every_one(make_project):
    names = exported(make_project)
    read = {name for expr in exprs() for name in metric_names(expr)}
    assert read - names == set(), "the dashboard reads metrics nobody exports"
    assert names - read == set(), "exported metrics missing from the dashboard"
