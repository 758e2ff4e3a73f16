"""The operators' dashboard in headless Chromium, on SQLite and PostgreSQL: the overview's
numbers agree with one another and with what happened, the chart fills its width with axes,
search and filters find submissions, a submission's page shows its whole story, the original
message downloads, and the replay button starts a new run recorded with who and why.

Screenshots go to tmp_path, or to $GATEWAY_TEST_SCREENSHOTS when set (to look at them)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.ops.conftest import SENDER_OIN, Filed
from tests.support.browser import Browser, needs_chromium
from tests.support.gateway import Stack
from tests.support.xbrl import Statement

pytestmark = needs_chromium


def _shots(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    base = os.environ.get("GATEWAY_TEST_SCREENSHOTS")
    return Path(base) / request.node.callspec.id if base else tmp_path / "screenshots"


def _tile(b: Browser, key: str) -> int:
    return int(b.text(f"#{key} b"))


def _login(b: Browser, filed: Filed) -> None:
    b.goto(f"{filed.stack.ops_url}/dashboard?token={filed.stack.ops_token}")
    assert b.url == f"{filed.stack.ops_url}/dashboard"  # the token left the address bar


def test_overview_numbers_agree_and_chart_fills_the_width(
    shared_filed: Filed, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    filed = shared_filed
    with Browser(shots=_shots(tmp_path, request)) as b:
        _login(b, filed)
        b.screenshot("overview")
        assert _tile(b, "received") == 3
        assert (_tile(b, "accepted"), _tile(b, "rejected"), _tile(b, "error"), _tile(b, "pending")) == (1, 2, 0, 0)
        assert _tile(b, "unfinished") == 0 and _tile(b, "mail-backlog") == 0
        # No check or mail waits; arq's reconcile cron job may sit in the queue for a moment
        # (every 30 s), shown as "other", and the tile still adds up.
        note = b.text("#queue-depth small")
        assert re.fullmatch(r"0 checks, 0 mails(, [01] other)?", note), note
        assert _tile(b, "queue-depth") == (int(note.split(", ")[2].split()[0]) if note.count(",") == 2 else 0)
        assert _tile(b, "workers") == 1
        # The chart's bars add up to the "last 60 min" tile, and its legend to the outcomes.
        bars = b.evaluate("Array.from(document.querySelectorAll('#per-minute g.bar'), g => +g.dataset.count)")
        assert sum(bars) == _tile(b, "received-window") == 3
        legend = dict(
            b.evaluate(
                "Array.from(document.querySelectorAll('.legend'),"
                " e => [e.dataset.series, +e.querySelector('b').innerText])"
            )
        )
        assert legend == {"accepted": 1, "rejected": 2, "error": 0, "pending": 0}
        # Fills its width, has axes with labels, and bars that are not slivers.
        chart, panel = b.box("#per-minute"), b.box(".panel")
        assert chart["width"] >= panel["width"] - 40 and chart["width"] > 1000
        assert chart["height"] > 200
        assert b.box("#per-minute g.bar rect")["width"] >= 10
        svg = b.evaluate("document.querySelector('#per-minute').textContent")
        assert "received per minute" in svg and "minute received (UTC)" in svg
        ticks = b.evaluate("Array.from(document.querySelectorAll('#per-minute text.xtick'), t => t.textContent)")
        assert len(ticks) == 7 and all(len(t) == 5 and t[2] == ":" for t in ticks)
        # The y axis counts whole submissions up to the busiest minute (the three filings may
        # straddle a minute boundary, so that is 2 or 3).
        yticks = b.evaluate("Array.from(document.querySelectorAll('#per-minute text.ytick'), t => +t.textContent)")
        assert yticks == list(range(max(bars) + 1)) and max(bars) in (2, 3)
        # Failures: both rejections, linked, with the whole description.
        assert b.texts("#failures td.foutcode") == ["GW-KVK-07", "GW-KVK-07"]
        links = b.evaluate("Array.from(document.querySelectorAll('#failures a.k'), a => a.getAttribute('href'))")
        assert sorted(links) == sorted(f"/submissions/{filed.kenmerken[k]}" for k in ("JR-REJ-88", "JR-REJ-77"))
        assert all(d.endswith(".") for d in b.texts("#failures td.text"))
        assert dict(zip(b.texts("#foutcodes td.k"), b.texts("#foutcodes td.n"), strict=True)) == {"GW-KVK-07": "2"}
        # Kenmerken do not wrap.
        assert b.box("#failures a.k")["height"] < 24


def _search(b: Browser, filed: Filed, **params: str) -> list[str]:
    for name, value in params.items():
        b.fill(f"#filters [name={name}]", value)
    b.submit("#filters")
    return b.texts("#results a.k")


def test_search_and_filters(shared_filed: Filed, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    filed = shared_filed
    k = filed.kenmerken
    with Browser(shots=_shots(tmp_path, request)) as b:
        _login(b, filed)
        # From the header's search box on the overview.
        b.fill("#search", "88888888")
        b.submit("#search")
        assert b.texts("#results a.k") == [k["JR-REJ-88"]]
        assert b.text("#result-count").startswith("1 submission")
        b.goto(f"{filed.stack.ops_url}/submissions")
        assert sorted(b.texts("#results a.k")) == sorted(k.values())
        assert _search(b, filed, q="jr-rej-77") == [k["JR-REJ-77"]]  # aanleverkenmerk, any case
        assert _search(b, filed, q=k["JR-ACC-1"][:12]) == [k["JR-ACC-1"]]  # kenmerk (a prefix)
        b.fill("#search", k["JR-REJ-77"])  # a whole kenmerk: straight to its page
        b.submit("#search")
        assert b.url == f"{filed.stack.ops_url}/submissions/{k['JR-REJ-77']}"
        assert b.text("#kenmerk") == k["JR-REJ-77"]
        b.goto(f"{filed.stack.ops_url}/submissions")
        assert sorted(_search(b, filed, q=SENDER_OIN)) == sorted(k.values())  # sender
        assert sorted(_search(b, filed, q="", status="311")) == sorted([k["JR-REJ-88"], k["JR-REJ-77"]])
        assert _search(b, filed, status="500") == [k["JR-ACC-1"]]
        assert _search(b, filed, status="open") == []
        assert b.text("#results td.empty") == "no submission matches"
        assert sorted(_search(b, filed, status="", foutcode="GW-KVK-07")) == sorted([k["JR-REJ-88"], k["JR-REJ-77"]])
        assert _search(b, filed, q="77777777", foutcode="GW-KVK-07") == [k["JR-REJ-77"]]
        assert "foutcode=GW-KVK-07" in b.url and "q=77777777" in b.url
        b.screenshot("search")


def test_submission_page_download_and_replay(filed: Filed, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    stack = filed.stack
    kenmerk = filed.kenmerken["JR-REJ-88"]
    with Browser(shots=_shots(tmp_path, request)) as b:
        _login(b, filed)
        b.click(f"#failures a[href='/submissions/{kenmerk}']")
        assert b.text("#kenmerk") == kenmerk
        assert [r.split("\t")[2] for r in b.texts("#timeline tbody tr")] == ["105", "100", "110", "200", "311"]
        assert "GW-KVK-07" in b.texts("#findings td.code")
        assert b.texts("#mails td.state") == ["sent"]
        assert b.texts("#runs td.actor") == [SENDER_OIN]
        facts = b.text("#facts")
        assert "JR-REJ-88" in facts and "88888888" in facts and SENDER_OIN in facts
        b.screenshot("submission")

        # The original message, as received.
        saved = b.download("#download", tmp_path / "downloads")
        raw = saved.read_bytes()
        assert b.last_download_name == f"{kenmerk}.xml"
        assert hashlib.sha256(raw).hexdigest() in facts
        assert b"<aanleverkenmerk>JR-REJ-88</aanleverkenmerk>" in raw.replace(b"ns0:", b"").replace(b"ns1:", b"")

        # The company gets registered; the operator replays from the page.
        path = stack.data_dir / "late.json"
        path.write_text(
            json.dumps(
                [
                    {
                        "kvk_number": "88888888",
                        "name": "Laat B.V.",
                        "legal_form": "Naamloze vennootschap",
                        "status": "active",
                    }
                ]
            )
        )
        stack.cli("register", "import", str(path))
        b.fill("#replay [name=actor]", "Ops Olga")
        b.fill("#replay [name=reason]", "company registered late")
        b.submit("#replay")
        assert b.text("#notice") == "Replay started as run 2."
        assert b.url.endswith(f"/submissions/{kenmerk}?replayed=2")
        deadline = time.monotonic() + 60
        while "500" not in b.texts("#runs td .badge"):
            assert time.monotonic() < deadline, b.text("#runs")
            time.sleep(0.5)
            b.goto(f"{stack.ops_url}/submissions/{kenmerk}")
        assert b.texts("#runs td.actor") == [SENDER_OIN, "Ops Olga"]
        assert b.texts("#runs td.reason") == ["", "company registered late"]
        stack.smtp.wait_for(kenmerk, count=2)
        deadline = time.monotonic() + 30
        while b.texts("#mails td.state") != ["sent", "sent"]:
            assert time.monotonic() < deadline, b.text("#mails")
            time.sleep(0.3)
            b.goto(f"{stack.ops_url}/submissions/{kenmerk}")
        b.screenshot("submission-replayed")

        # The overview follows: one more accepted, one fewer rejected.
        b.goto(f"{stack.ops_url}/dashboard")
        assert (_tile(b, "received"), _tile(b, "accepted"), _tile(b, "rejected")) == (3, 2, 1)
        assert dict(zip(b.texts("#foutcodes td.k"), b.texts("#foutcodes td.n"), strict=True)) == {"GW-KVK-07": "1"}


def test_replay_refused_without_who_and_why_and_unknown_kenmerk(shared_filed: Filed) -> None:
    filed = shared_filed
    kenmerk = filed.kenmerken["JR-REJ-77"]
    with Browser() as b:
        _login(b, filed)
        b.goto(f"{filed.stack.ops_url}/submissions/{kenmerk}")
        b.fill("#replay [name=actor]", "Ops Olga")
        with pytest.raises(AssertionError, match="form invalid"):
            b.submit("#replay")  # the browser refuses: "why" is required
        b.goto(f"{filed.stack.ops_url}/submissions/no-such-kenmerk")
        assert b.text("h1") == "No submission with that kenmerk"
    shown = json.loads(filed.stack.cli("submissions", "show", kenmerk, "--json").stdout)
    assert shown["run"] == 1 and shown["replays"] == []


def test_waiting_work_adds_up_and_sender_text_is_neutralised(
    stack_no_worker: Stack, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """No worker runs: what waits is shown the same way everywhere (jobs in queue = checks =
    unfinished = pending), and a sender's control and bidi characters are made visible."""
    stack = stack_no_worker
    client = stack.client(stack.pki.client("filer-a"))
    sneaky = "JR\u202eFDP.exe\u009b"
    kenmerken = [
        str(client.submit(Statement().build(), "12345678", aanleverkenmerk=ak).kenmerk) for ak in ("W-1", sneaky)
    ]
    with Browser(shots=_shots(tmp_path, request)) as b:
        b.goto(f"{stack.ops_url}/dashboard?token={stack.ops_token}")
        b.screenshot("waiting")
        assert _tile(b, "queue-depth") == 2 and b.text("#queue-depth small") == "2 checks, 0 mails"
        assert _tile(b, "unfinished") == 2 and _tile(b, "pending") == 2 and _tile(b, "received") == 2
        assert b.text("#workers td.empty") == "no live workers"
        assert sorted(b.texts("#stuck a.k")) == sorted(kenmerken)
        b.goto(f"{stack.ops_url}/submissions?status=open")
        assert b.text("#result-count").startswith("2 submissions")
        shown = b.texts("#results td.k")
        assert "JR[U+202E]FDP.exe[U+009B]" in shown
        assert not any(c in "".join(b.texts("body")) for c in "\u202e\u009b")
        b.goto(f"{stack.ops_url}/submissions/{kenmerken[1]}")
        assert "JR[U+202E]FDP.exe[U+009B]" in b.text("#facts")
        assert b.text("#replay-busy").startswith("Run 1 is not finished yet")
