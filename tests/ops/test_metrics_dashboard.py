"""/metrics and /readyz, on SQLite and PostgreSQL: the figures match what happened, the
exposition is valid (promtool), readiness answers an orchestrator without the token and
keeps its details for operators, and nothing operators see is on the filers' port."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import requests

from tests.ops.conftest import Filed


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        m = re.match(r"^(\w+)(\{.*\})? (.+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    raise AssertionError(f"{name}{labels} not in metrics")


def test_metrics_match_what_happened(shared_filed: Filed) -> None:
    stack = shared_filed.stack
    assert stack.ops_get("/metrics", token=False).status_code == 401
    response = stack.ops_get("/metrics")
    assert response.status_code == 200, response.text  # was 503 on PostgreSQL (GROUP BY)
    text = response.text
    soort = {"berichtsoort": "Jaarverantwoording_KvK"}
    assert metric(text, "gateway_submissions_received_total", **soort) == 3
    assert metric(text, "gateway_submissions", outcome="rejected", **soort) == 2
    assert metric(text, "gateway_submissions", outcome="accepted", **soort) == 1
    assert metric(text, "gateway_final_statuses_total", status="311") == 2
    assert metric(text, "gateway_final_statuses_total", status="500") == 1
    assert metric(text, "gateway_rejections_total", foutcode="GW-KVK-07") == 2
    assert metric(text, "gateway_mails_sent_total") == 3
    assert metric(text, "gateway_mail_backlog") == 0
    assert metric(text, "gateway_mail_oldest_pending_age_seconds") == 0
    assert metric(text, "gateway_check_duration_seconds_count") == 3
    assert metric(text, "gateway_unfinished_submissions") == 0
    assert metric(text, "gateway_oldest_unfinished_age_seconds") == 0
    assert metric(text, "gateway_queue_depth") == 0
    assert metric(text, "gateway_queued_jobs", kind="check") == 0
    assert metric(text, "gateway_redis_up") == 1
    assert metric(text, "gateway_workers_alive") == 1


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian prometheus) is not installed (.ci/run installs it)")
def test_metrics_pass_promtool(shared_filed: Filed) -> None:
    assert PROMTOOL is not None
    text = shared_filed.stack.ops_get("/metrics").text
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readiness_without_token_has_no_details(shared_filed: Filed) -> None:
    stack = shared_filed.stack
    assert stack.ops_get("/healthz", token=False).json() == {"status": "alive"}
    public = stack.ops_get("/readyz", token=False)
    assert public.status_code == 200 and public.json() == {"ready": True}
    ready = stack.ops_get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": "ok", "redis": "ok", "smtp": "ok"}
    stack.smtp.stop()
    try:
        down = stack.ops_get("/readyz", token=False)
        assert down.status_code == 503 and down.json() == {"ready": False}
        detailed = stack.ops_get("/readyz")
        assert detailed.status_code == 503 and detailed.json()["smtp"].startswith("error")
    finally:
        stack.smtp.restart()


def test_operator_endpoints_are_not_on_the_filers_port(shared_filed: Filed) -> None:
    s = requests.Session()
    s.trust_env = False
    filed = shared_filed
    s.verify = str(filed.stack.pki.root)
    cert = filed.stack.pki.client("filer-a")
    s.cert = (str(cert.cert), str(cert.key))
    for path in ("/metrics", "/dashboard", "/readyz", "/submissions", f"/submissions/{filed.kenmerken['JR-ACC-1']}"):
        assert s.get(filed.stack.base_url + path, timeout=10).status_code == 404
