"""deploy/prometheus and deploy/grafana: the alert rules load and behave as their unit tests
say (promtool), every Grafana query is valid PromQL, and every metric either of them uses is
one the gateway exports (read from a real store, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from gateway.ops import metrics
from gateway.ops.stats import QueueState, Snapshot, WorkerBeat
from gateway.store.db import Store
from gateway.store.operators import OperatorsReadModel

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
GRAFANA = DEPLOY / "grafana" / "filing-gateway.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool (Debian package prometheus) is not installed (.ci/run installs it)"
)


def _promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def _grafana_exprs() -> list[str]:
    dash = json.loads(GRAFANA.read_text())
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def _alert_names() -> set[str]:
    return set(re.findall(r"^\s*- alert: (\w+)$", ALERTS.read_text(), re.M))


def _alerts_made_to_fire() -> set[str]:
    """Alerts some unit test expects to fire (an alertname followed by a non-empty exp_alerts)."""
    return set(re.findall(r"alertname: (\w+)\s*\n\s*exp_alerts:\s*\n\s*- exp_labels", ALERT_TESTS.read_text()))


@needs_promtool
def test_alert_rules_load_and_pass_their_unit_tests() -> None:
    checked = _promtool("check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", ALERT_TESTS.name, cwd=ALERT_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    names = _alert_names()
    # The alerts the operators asked for, and a unit test for each.
    asked = {
        "GatewayQueueGrowing",
        "GatewayOldestUnfinishedTooOld",
        "GatewayWorkersMissing",
        "GatewayMailBacklog",
        "GatewayRejectionSpike",
    }
    assert asked <= names
    fired = _alerts_made_to_fire()
    assert names <= fired, f"alerts without a test that makes them fire: {names - fired}"


@needs_promtool
def test_a_broken_rule_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: x\n  rules:\n  - alert: X\n    expr: max(gateway_queue_depth[5m]\n")
    assert _promtool("check", "rules", str(bad)).returncode != 0


@needs_promtool
def test_grafana_queries_are_valid_promql(tmp_path: Path) -> None:
    exprs = _grafana_exprs()
    assert len(exprs) >= 10
    rules = {
        "groups": [{"name": "grafana", "rules": [{"record": f"grafana:q{i}", "expr": e} for i, e in enumerate(exprs)]}]
    }
    path = tmp_path / "grafana-queries.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    checked = _promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_dashboard_is_well_formed() -> None:
    dash = json.loads(GRAFANA.read_text())
    assert dash["uid"] and dash["title"] == "Filing gateway"
    assert [v["name"] for v in dash["templating"]["list"]] == ["datasource"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in dash["panels"]:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["type"] in ("stat", "timeseries") and p["targets"], p["title"]
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        mine = {(g["x"] + dx, g["y"] + dy) for dx in range(g["w"]) for dy in range(g["h"])}
        assert not (mine & cells), f"{p['title']} overlaps another panel"
        cells |= mine
    rows = sorted({(p["gridPos"]["y"], p["gridPos"]["h"]) for p in dash["panels"]})
    assert all(a[0] + a[1] <= b[0] for a, b in pairwise(rows) if a[0] != b[0])


def _exported(text: str) -> set[str]:
    names: set[str] = set()
    for m in re.finditer(r"^# TYPE (\w+) (\w+)$", text, re.M):
        name, kind = m.groups()
        names.add(name)
        if kind == "counter":
            names.add(name.removesuffix("_total") + "_total")
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


async def test_every_metric_used_is_exported(database_url: str) -> None:
    store = Store.from_url(database_url)
    try:
        await store.init_schema()
        overview = await OperatorsReadModel(store.engine).overview(datetime.now(UTC))
    finally:
        await store.close()
    snap = Snapshot(overview, QueueState(0, 0, 0), (WorkerBeat("host:1", 0.0, 0.0, 0, 0),))
    exported = _exported(metrics.render(snap).decode())
    # In the alerts file also the names its descriptions point operators to.
    texts = [*_grafana_exprs(), ALERTS.read_text()]
    used = {n for text in texts for n in re.findall(r"\bgateway_\w+", text)}
    assert used, "no gateway metrics referenced"
    assert used <= exported, f"used but not exported: {sorted(used - exported)}"


@needs_promtool
def test_the_example_prometheus_config_is_valid(tmp_path: Path) -> None:
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    token = tmp_path / "gateway-ops-token"
    token.write_text("secret\n")
    assert "/etc/prometheus/gateway-ops-token" in config and "- alerts.yml" in config
    local = tmp_path / "prometheus.yml"
    local.write_text(
        config.replace("/etc/prometheus/gateway-ops-token", str(token)).replace("- alerts.yml", f"- {ALERTS}")
    )
    checked = _promtool("check", "config", str(local))  # also loads and checks the rules
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(_alert_names())} rules found" in checked.stdout + checked.stderr
