"""Operators' sessions and CSRF (issue 11, item 8), on SQLite and PostgreSQL.

The token in a URL is accepted on the dashboard's first visit only and traded for a session
cookie that is not the token; every state-changing request made with that cookie needs the
listener's own Origin and a CSRF token (or a JSON body). The attack of the issue is replayed
in Chromium: a page on another 127.0.0.1 port auto-submits forms to the operators' listener
(SameSite does not separate ports, so the browser does send the cookie)."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest
import requests

from gateway.ops.auth import SESSION_COOKIE
from tests.ops.conftest import Filed
from tests.support.browser import Browser, needs_chromium
from tests.support.smtp import free_port


def _session(filed: Filed) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    r = s.get(f"{filed.stack.ops_url}/dashboard", params={"token": filed.stack.ops_token}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/dashboard"
    return s


def _replays(filed: Filed, kenmerk: str) -> list[dict[str, str]]:
    return list(json.loads(filed.stack.cli("submissions", "show", kenmerk, "--json").stdout)["replays"])


def test_the_cookie_is_not_the_token_and_the_url_token_works_once(shared_filed: Filed) -> None:
    filed = shared_filed
    stack = filed.stack
    s = _session(filed)
    cookie = s.cookies.get(SESSION_COOKIE)
    assert cookie and stack.ops_token not in cookie
    raw = requests.get(
        f"{stack.ops_url}/dashboard", params={"token": stack.ops_token}, allow_redirects=False, timeout=10
    ).headers["Set-Cookie"]
    assert "HttpOnly" in raw and "SameSite=Strict" in raw
    assert s.get(f"{stack.ops_url}/dashboard", timeout=10).status_code == 200  # the cookie works
    anon = requests.Session()
    anon.trust_env = False
    # A token in the URL anywhere but the dashboard's first visit is refused.
    for path in ("/metrics", "/submissions", f"/submissions/{filed.kenmerken['JR-ACC-1']}"):
        assert anon.get(stack.ops_url + path, params={"token": stack.ops_token}, timeout=10).status_code == 401
    # The old cookie (the token itself) and a forged session are not sessions.
    assert anon.get(f"{stack.ops_url}/dashboard", cookies={"gateway_ops": stack.ops_token}).status_code == 401
    forged = re.sub(r"[0-9a-f]$", lambda m: "0" if m.group() != "0" else "1", cookie)
    assert anon.get(f"{stack.ops_url}/dashboard", cookies={SESSION_COOKIE: forged}).status_code == 401
    assert anon.get(f"{stack.ops_url}/dashboard", params={"token": "wrong"}).status_code == 401


def test_cookie_requests_need_origin_and_csrf_token(filed: Filed) -> None:
    stack = filed.stack
    kenmerk = filed.kenmerken["JR-REJ-77"]
    s = _session(filed)
    evil = "http://127.0.0.1:1"
    own = stack.ops_url
    body = json.dumps({"kenmerk": kenmerk, "reason": "forged", "actor": "attacker"})
    api = f"{own}/api/replay"
    form_url = f"{own}/submissions/{kenmerk}/replay"
    page = s.get(f"{own}/submissions/{kenmerk}").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token is not None
    form = {"actor": "attacker", "reason": "forged"}
    refused = [
        s.post(api, data=body, headers={"Content-Type": "text/plain", "Origin": evil}),
        s.post(api, data=body, headers={"Content-Type": "text/plain", "Origin": own}),  # no token
        s.post(api, data=body, headers={"Content-Type": "application/json", "Origin": evil}),
        s.post(api, data=body, headers={"Content-Type": "application/json"}),  # no Origin at all
        s.post(form_url, data=form, headers={"Origin": own}),
        s.post(form_url, data={**form, "csrf_token": "0" * 64}, headers={"Origin": own}),
        s.post(form_url, data={**form, "csrf_token": token.group(1)}, headers={"Origin": evil}),
        s.post(form_url, data={**form, "csrf_token": token.group(1)}, headers={"Referer": f"{evil}/x"}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert _replays(filed, kenmerk) == []

    ok = s.post(form_url, data={**form, "csrf_token": token.group(1)}, headers={"Origin": own}, allow_redirects=False)
    assert ok.status_code == 303 and ok.headers["Location"].endswith("?replayed=2")
    assert [r["actor"] for r in _replays(filed, kenmerk)] == ["attacker"]
    # A CSRF token belongs to its session.
    other = _session(filed)
    stolen = other.post(form_url, data={**form, "csrf_token": token.group(1)}, headers={"Origin": own})
    assert stolen.status_code == 403


def test_bearer_api_calls_need_no_csrf_token(shared_filed: Filed) -> None:
    filed = shared_filed
    kenmerk = filed.kenmerken["JR-REJ-88"]
    r = filed.stack.ops_post("/api/replay", {"kenmerk": kenmerk, "reason": "script", "actor": "cron", "dry_run": True})
    assert r.status_code == 200 and r.json() == {"dry_run": True, "kenmerken": [kenmerk]}


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        body = self.pages.get(self.path, "").encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _auto_submit(action: str, enctype: str, fields: dict[str, str]) -> str:
    inputs = "".join(f"<input name='{k}' value='{v}'>" for k, v in fields.items())
    return (
        f'<html><body><form id="f" method="post" action="{action}" enctype="{enctype}">{inputs}</form>'
        "<script>document.getElementById('f').submit()</script></body></html>"
    )


@needs_chromium
def test_cross_site_forms_in_the_browser_are_refused(shared_filed: Filed, attacker: str) -> None:
    filed = shared_filed
    stack = filed.stack
    kenmerk = filed.kenmerken["JR-REJ-77"]
    # The attack: a text/plain form whose body parses as the replay JSON.
    _AttackerPage.pages = {
        "/plain": _auto_submit(
            f"{stack.ops_url}/api/replay",
            "text/plain",
            {'{"kenmerk": "' + kenmerk + '", "reason": "x", "actor": "attacker", "pad": "': '"}'},
        ),
        "/form": _auto_submit(
            f"{stack.ops_url}/submissions/{kenmerk}/replay",
            "application/x-www-form-urlencoded",
            {"actor": "attacker", "reason": "forged"},
        ),
    }
    with Browser() as b:
        b.goto(f"{stack.ops_url}/dashboard?token={stack.ops_token}")
        assert any(c["name"] == SESSION_COOKIE for c in b.cookies())
        for path in ("/plain", "/form"):
            b.goto(attacker + path)
            deadline = time.monotonic() + 15
            while not b.url.startswith(stack.ops_url):
                assert time.monotonic() < deadline, f"the attacker's form on {path} was not submitted"
                time.sleep(0.1)
            b.wait_for("body")
            assert "cross-site request refused" in b.evaluate("document.body.innerText"), path
    assert _replays(filed, kenmerk) == []
    assert json.loads(stack.cli("submissions", "show", kenmerk, "--json").stdout)["run"] == 1
