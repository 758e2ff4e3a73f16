"""The operators' Zelf Deponeren page on the operators' listener, on SQLite and PostgreSQL:
every action goes through a form with the CSRF token, is refused without it, and is recorded
with who, when and why."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import REDIS_URL, running, seed_register, short_tmp
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink
from tests.web.test_pages import BRANCH, COMPANY, wait_for_port

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def ops_stack(pki: Pki, smtp: SmtpSink, database_url: str) -> Iterator[Stack]:
    seed_register(database_url, COMPANY)
    stack = Stack(data_dir=short_tmp(), pki=pki, smtp=smtp, database_url=database_url, redis_url=REDIS_URL)
    stack.cli("zdj", "branch", "add", BRANCH, "--kvk", "12345678", "--name", "Hoofdvestiging", "--actor", "op")
    yield from running(stack, worker=False)


def _session(stack: Stack) -> tuple[requests.Session, str]:
    s = requests.Session()
    s.trust_env = False
    s.headers["Authorization"] = f"Bearer {stack.ops_token}"
    wait_for_port(stack.ops_port)  # the operators' listener starts after the filers' port
    page = s.get(stack.ops_url + "/zdj", timeout=30)
    assert page.status_code == 200
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    return s, token.group(1)


def _code(stack: Stack, code: str) -> dict[str, object]:
    return dict(json.loads(stack.cli("zdj", "code", "show", code, "--json").stdout))


def test_operator_page_issues_blocks_unblocks_closes_with_csrf(ops_stack: Stack) -> None:
    s, csrf = _session(ops_stack)
    url = ops_stack.ops_url + "/zdj/action"
    form = {"action": "issue", "branch": BRANCH, "name": "Gijs", "email": "gijs@elders.test", "actor": "ops-anna"}
    # Without the token (or with a wrong one) nothing happens.
    assert s.post(url, data=form, timeout=30).status_code == 403
    assert s.post(url, data={**form, "csrf": "forged"}, timeout=30).status_code == 403
    assert "W-" not in ops_stack.cli("zdj", "code", "list").stdout
    done = s.post(url, data={**form, "csrf": csrf}, timeout=30)
    assert done.status_code == 200 and "letter dispatch" in done.text  # followed the redirect to /zdj
    code = re.search(r"(W-[\w-]+) issued", done.text)
    assert code
    for action, extra in (
        ("block", {"reason": "unpaid_invoice", "note": "factuur 7"}),
        ("unblock", {"note": "factuur 7 betaald"}),
        ("close", {"note": "op verzoek"}),
    ):
        r = s.post(url, data={"action": action, "code": code.group(1), "actor": "ops-anna", "csrf": csrf, **extra})
        assert f"{code.group(1)} {action}" in r.text, r.text
    shown = _code(ops_stack, code.group(1))
    assert shown["state"] == "closed" and shown["by"] == "ops-anna" and shown["reason"] == "op verzoek"
    history = shown["history"]
    assert isinstance(history, list)
    assert [(e["action"], e["actor"]) for e in history] == [
        ("issued", "ops-anna"),
        ("blocked", "ops-anna"),
        ("unblocked", "ops-anna"),
        ("closed", "ops-anna"),
    ]
    # A refused action comes back as a message, not a trace.
    again = s.post(url, data={"action": "unblock", "code": code.group(1), "note": "x", "actor": "a", "csrf": csrf})
    assert "the access code is closed; cannot unblocked it" in again.text or "cannot" in again.text
    # Without the operator token the page is not there at all.
    anonymous = requests.Session()
    anonymous.trust_env = False
    assert anonymous.get(ops_stack.ops_url + "/zdj", timeout=30).status_code == 401


def test_operator_page_records_the_business_answer_and_closes_branches(ops_stack: Stack) -> None:
    out = ops_stack.cli(
        "zdj", "code", "issue", "--branch", BRANCH, "--name", "Hanna", "--email", "h@elders.test", "--actor", "op"
    )
    code = re.search(r"issued (W[-\w]+)", out.stdout)
    assert code
    s, csrf = _session(ops_stack)
    page = s.get(ops_stack.ops_url + "/zdj", timeout=30).text
    assert code.group(1) in page and "Letters to print" in page and "T.a.v. Hanna" in page
    letter = re.search(r'name="letter" value="(\d+)"', page)
    assert letter
    r = s.post(
        ops_stack.ops_url + "/zdj/action",
        data={"action": "printed", "letter": letter.group(1), "actor": "p", "csrf": csrf},
    )
    assert f"letter {letter.group(1)} marked printed" in r.text
    r = s.post(
        ops_stack.ops_url + "/zdj/action",
        data={"action": "close_branch", "branch": BRANCH, "note": "opgeheven", "actor": "ops-bo", "csrf": csrf},
    )
    assert "closed with 1 access code(s)" in r.text
    assert _code(ops_stack, code.group(1))["state"] == "closed"
    assert "branch_closed" in r.text and "ops-bo" in r.text  # the recorded actions on the page
