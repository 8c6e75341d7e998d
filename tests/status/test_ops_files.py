"""The shipped ops files: Prometheus rules pass promtool (and their unit tests), the
Grafana dashboard parses and refers only to metrics a live /metrics scrape has."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import CI

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/alerts.yml"
RULES_TEST = ROOT / "deploy/prometheus/alerts_test.yml"
DASHBOARD = ROOT / "deploy/grafana/dcc.json"
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if CI:
            pytest.fail("promtool is required under CI (.ci/run installs Debian's prometheus)")
        pytest.skip("promtool not installed")
    return path


def test_rules_pass_promtool() -> None:
    tool = promtool()
    check = subprocess.run(
        [tool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        [tool, "test", "rules", str(RULES_TEST)], capture_output=True, text=True, check=False
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr


async def test_dashboard_uses_only_existing_metrics(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    scrape = (await client.get("/metrics")).text
    known: set[str] = set()
    for family in text_string_to_metric_families(scrape):
        known.add(family.name)
        known.update(family.name + s for s in SUFFIXES.get(family.type, ()))
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [
        t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", []) if "expr" in t
    ]
    assert len(exprs) >= 10
    used = {m for e in exprs for m in re.findall(r"\b(dcc_[a-z0-9_]+)", e)}
    assert used and used <= known, f"unknown metrics: {sorted(used - known)}"
    rule_metrics = set(re.findall(r"\b(dcc_[a-z0-9_]+)", RULES.read_text()))
    assert rule_metrics <= known, f"rules use unknown metrics: {sorted(rule_metrics - known)}"
