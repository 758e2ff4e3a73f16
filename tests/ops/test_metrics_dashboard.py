"""/metrics, /readyz and the dashboard show what happened, and only with the token."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import pytest
import requests

from tests.support.gateway import Stack
from tests.support.outcome import file_statement
from tests.support.xbrl import Statement


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(r"^(\w+)(\{.*\})? (.+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    raise AssertionError(f"{name}{labels} not in metrics")


@pytest.fixture
def filed(sqlite_stack: Stack) -> Stack:
    stack = sqlite_stack
    client = stack.client(stack.pki.client("filer-a"))
    # Neither company is in the register: both rejected with GW-KVK-07.
    file_statement(stack, client, Statement(kvk_number="88888888"))
    file_statement(stack, client, Statement(kvk_number="77777777"))
    return stack


def test_metrics_match_what_happened(filed: Stack) -> None:
    stack = filed
    assert stack.ops_get("/metrics", token=False).status_code == 401
    text = stack.ops_get("/metrics").text
    assert _metric(text, "gateway_submissions_total", outcome="rejected", berichtsoort="Jaarverantwoording_KvK") == 2
    assert _metric(text, "gateway_rejections_total", foutcode="GW-KVK-07") == 2
    assert _metric(text, "gateway_mails_sent_total") == 2
    assert _metric(text, "gateway_mail_backlog") == 0
    assert _metric(text, "gateway_check_duration_seconds_count") == 2
    assert _metric(text, "gateway_unfinished_submissions") == 0
    assert _metric(text, "gateway_queue_depth") >= 0
    assert _metric(text, "gateway_workers_alive") == 1


def test_health_and_readiness(filed: Stack) -> None:
    stack = filed
    assert stack.ops_get("/healthz", token=False).json() == {"status": "alive"}
    ready = stack.ops_get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": "ok", "redis": "ok", "smtp": "ok"}
    stack.smtp.stop()
    try:
        down = stack.ops_get("/readyz")
        assert down.status_code == 503 and down.json()["smtp"].startswith("error")
    finally:
        stack.smtp.restart()


def test_operator_endpoints_are_not_on_the_filers_port(filed: Stack) -> None:
    s = requests.Session()
    s.trust_env = False
    s.verify = str(filed.pki.root)
    cert = filed.pki.client("filer-a")
    s.cert = (str(cert.cert), str(cert.key))
    for path in ("/metrics", "/dashboard", "/readyz"):
        assert s.get(filed.base_url + path, timeout=10).status_code == 404


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_dashboard_renders_in_chromium(filed: Stack) -> None:
    assert CHROMIUM is not None
    url = f"{filed.ops_url}/dashboard?token={filed.ops_token}"
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=3000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    assert "Filing gateway" in dom
    assert re.search(r'id="rejected">rejected, all time<b>2</b>', dom), dom[:2000]
    assert dom.count('class="foutcode">GW-KVK-07<') == 2
    assert 'id="per-minute"' in dom and "<rect" in dom
    assert "no live workers" not in dom
