"""The Grafana dashboard and the alert rules query only metrics this project really exports,
with labels those metrics really have."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from deploy.tests.conftest import DEPLOY

# Labels Prometheus adds to every series, and the bucket label of histograms.
TARGET_LABELS = {"job", "instance", "pod", "node", "deployment", "le"}
FUNCTIONS_AND_KEYWORDS = {
    "sum",
    "rate",
    "increase",
    "irate",
    "histogram_quantile",
    "clamp_min",
    "clamp_max",
    "avg",
    "max",
    "min",
    "count",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "topk",
    "bottomk",
    "abs",
    "delta",
    "deriv",
}


def _exported() -> dict[str, set[str]]:
    """Every sample name the process can expose, with the label names of its metric."""
    import django_prometheus.cache.metrics
    import django_prometheus.db.metrics  # noqa: F401
    from django_prometheus.middleware import Metrics

    import hscjit.metrics  # noqa: F401

    Metrics.get_instance()
    names: dict[str, set[str]] = {}
    for name, collector in REGISTRY._names_to_collectors.items():
        names[name] = set(getattr(collector, "_labelnames", ()))
    return names


@pytest.fixture(scope="module")
def exported() -> dict[str, set[str]]:
    return _exported()


def _dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/hscjit.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def _alert_queries() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _references(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, label names it is filtered or grouped by) for each metric in a PromQL query."""
    expr = re.sub(r"\$\w+", "", expr)
    expr = re.sub(r'"[^"]*"', '""', expr)
    grouped: set[str] = set()
    for labels in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        grouped |= {label.strip() for label in labels.split(",") if label.strip()}
    expr = re.sub(r"\b(?:by|without)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"(?<![\w:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", " ", expr)
    references = []
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?", expr):
        name, matchers, call = match.groups()
        if call or name in FUNCTIONS_AND_KEYWORDS:
            continue
        filtered = set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers or ""))
        references.append((name, filtered | grouped))
    return references


def _check(queries: list[str], exported: dict[str, set[str]]) -> list[str]:
    problems = []
    for expr in queries:
        references = _references(expr)
        if not references:
            problems.append(f"no metric found in {expr!r}")
        known = set().union(*(exported.get(name, set()) for name, _ in references))
        for name, labels in references:
            if name not in exported and name != "up":
                problems.append(f"{name} is not exported (in {expr!r})")
                continue
            unknown = labels - known - TARGET_LABELS
            if unknown:
                problems.append(f"{name} has no label {sorted(unknown)} (in {expr!r})")
    return problems


def test_the_dashboard_plots_only_exported_metrics(exported: dict[str, set[str]]) -> None:
    assert _check(_dashboard_queries(), exported) == []


def test_the_alert_rules_use_only_exported_metrics(exported: dict[str, set[str]]) -> None:
    assert _check(_alert_queries(), exported) == []


def test_the_check_catches_a_misspelled_metric_or_label(exported: dict[str, set[str]]) -> None:
    assert _check(["sum(rate(answer_totals[5m]))"], exported)
    assert _check(['sum by (colour) (rate(answers_total{state="answered"}[5m]))'], exported)
    assert not _check(['sum by (engine) (rate(answers_total{state="answered"}[5m]))'], exported)


def test_the_dashboard_covers_every_metric_the_project_defines(exported: dict) -> None:
    import hscjit.metrics as project

    plotted = {name for expr in _dashboard_queries() for name, _ in _references(expr)}
    for value in vars(project).values():
        if hasattr(value, "_name") and hasattr(value, "_type"):
            family = value._name
            assert any(name.startswith(family) for name in plotted), f"{family} is not plotted"
    assert any(name.startswith("django_http_") for name in plotted)


def test_the_dashboard_uses_the_provisioned_data_source() -> None:
    dashboard: dict[str, Any] = json.loads((DEPLOY / "grafana/dashboards/hscjit.json").read_text())
    datasource = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uid = datasource["datasources"][0]["uid"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["description"], panel["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/hscjit.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
