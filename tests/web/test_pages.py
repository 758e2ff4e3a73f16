"""Zelf Deponeren through the real interfaces: operators use ``gateway zdj`` (a CLI in a
subprocess), filers use the pages in headless Chromium over HTTPS, the code and the outcome
arrive at a real SMTP server, and the statement goes through the real worker.

One gateway (SQLite; the store rules run on PostgreSQL too in test_store.py) serves the
module; each test uses its own person and code. Screenshots go to $ZDJ_SHOTS or a temp dir.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from gateway.web.codes import display, new_code
from tests.conftest import running, seed_register, short_tmp
from tests.support.browser import Browser, needs_chromium
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Figures, Statement

pytestmark = [pytest.mark.timeout(240), needs_chromium]

COMPANY = {
    "kvk_number": "12345678",
    "name": "Voorbeeld Handel B.V.",
    "legal_form": "Besloten vennootschap met beperkte aansprakelijkheid",
    "status": "active",
    "email": "administratie@voorbeeld.test",
    "street": "Kerkstraat",
    "house_number": "12",
    "postal_code": "1234AB",
    "city": "Utrecht",
}
BRANCH = "000012345678"
CLOSING_BRANCH = "000012345679"
B = "/zelf-deponeren"


@pytest.fixture(scope="module")
def zdj_stack(pki: Pki, smtp: SmtpSink) -> Iterator[Stack]:
    data = short_tmp()
    url = f"sqlite+aiosqlite:///{data / 'gateway.db'}"
    seed_register(url, COMPANY)
    stack = Stack(
        data_dir=data, pki=pki, smtp=smtp, database_url=url, redis_url=os.environ.get("GATEWAY_TEST_REDIS_URL")
    )
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    stack.cli("zdj", "branch", "add", BRANCH, "--kvk", "12345678", "--name", "Hoofdvestiging", "--actor", "op")
    stack.cli("zdj", "branch", "add", CLOSING_BRANCH, "--kvk", "12345678", "--name", "Filiaal", "--actor", "op")
    for s in running(stack):
        wait_for_port(s.web_port)  # the pages' listener starts after the filers' port
        yield s


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def browser(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    shots = Path(os.environ.get("ZDJ_SHOTS") or tmp_path_factory.mktemp("shots"))
    # The pages' certificate is issued by the test CA (root and intermediate, the bundle the
    # gateway also trusts for clients): the browser accepts that CA's keys and no others.
    with Browser(trust=pki.client_bundle, shots=shots) as b:
        yield b


def _mail_to(smtp: SmtpSink, address: str, kind: str, needle: str, timeout: float = 20) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with smtp.lock:
            found = [
                m
                for m in smtp.messages
                if m["To"] == address and m["X-Gateway-Zdj"] == kind and needle in m.get_content()
            ]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no {kind} mail to {address}")


def issue_by_email(stack: Stack, name: str, branch: str = BRANCH) -> tuple[str, str]:
    """Issue a code applied for with the company's registered address: it comes by email."""
    email = COMPANY["email"]
    out = stack.cli("zdj", "code", "issue", "--branch", branch, "--name", name, "--email", email, "--actor", "op")
    code = re.search(r"issued (W[-\w]+)", out.stdout)
    assert code, out.stdout
    mail = _mail_to(stack.smtp, email, "access_code", code.group(1))
    body = mail.get_content()
    password = re.search(r"Uw wachtwoord: (\S+)", body)
    assert password and code.group(1) in body
    return code.group(1), password.group(1)


def issue_by_post(stack: Stack, name: str, email: str, branch: str = BRANCH) -> tuple[str, str]:
    out = stack.cli("zdj", "code", "issue", "--branch", branch, "--name", name, "--email", email, "--actor", "op")
    assert "delivery: post" in out.stdout, out.stdout
    code = re.search(r"issued (W[-\w]+)", out.stdout)
    assert code
    letter_id = _letter_for(stack, name)
    printed = stack.cli("zdj", "letters", "print", letter_id, "--actor", "printer").stdout
    password = re.search(r"Uw wachtwoord: (\S+)", printed)
    assert password, printed
    return code.group(1), password.group(1)


def _letter_for(stack: Stack, name: str) -> str:
    for line in stack.cli("zdj", "letters", "list").stdout.splitlines():
        if f"T.a.v. {name}" in line:
            return line.split()[0]
    raise AssertionError(f"no letter for {name}")


def log_in(browser: Browser, stack: Stack, code: str, password: str) -> str:
    browser.clear_cookies()
    browser.goto(f"{stack.web_url}{B}/")
    browser.fill("#code", code)
    browser.fill("#password", password)
    browser.click("#login")
    return browser.text()


def first_log_in(browser: Browser, stack: Stack, code: str, password: str, new: str) -> None:
    text = log_in(browser, stack, code, password)
    assert "Kies eerst een eigen wachtwoord" in text, text
    browser.fill("#current", password)
    browser.fill("#new", new)
    browser.fill("#repeat", new)
    browser.click("#change")
    assert browser.url.endswith(f"{B}/overzicht")


def statement_file(folder: Path, name: str, statement: Statement) -> Path:
    path = folder / name
    path.write_bytes(statement.build())
    return path


def authorise(browser: Browser, stack: Stack, kvk: str) -> None:
    browser.fill("#kvk", kvk)
    browser.click("#request")
    assert "Machtiging aangevraagd" in browser.text()
    assert not browser.exists(f"#file-{kvk}")  # not before the business said yes
    auth_id = next(
        line.split()[0]
        for line in stack.cli("zdj", "auth", "list", "--state", "requested").stdout.splitlines()
        if f"KVK {kvk}" in line
    )
    letters = stack.cli("zdj", "letters", "list").stdout
    assert "authorisation" in letters and "financiële administratie" in letters
    stack.cli("zdj", "auth", "accept", auth_id, "--note", "getekend antwoord ontvangen", "--actor", "op")
    browser.goto(f"{stack.web_url}{B}/overzicht")
    assert "Deponeer jaarrekening" in browser.text()


def test_micro_statement_filed_on_the_page_reaches_500_and_a_mail(
    zdj_stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    code, password = issue_by_email(zdj_stack, "An de Vries")
    first_log_in(browser, zdj_stack, code, password, "een-eigen-lang-wachtwoord")
    cookie = next(c for c in browser.cookies() if c["name"] == "__Host-zdj")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    browser.screenshot("1-overview")
    authorise(browser, zdj_stack, "12345678")
    browser.click("#file-12345678")
    micro = Statement(size_class="micro", current=Figures(300_000, 600_000, 4), previous=Figures(280_000, 550_000, 4))
    browser.upload("#jaarrekening", statement_file(tmp_path, "jaarrekening.xbrl", micro))
    browser.screenshot("2-upload")
    browser.click("#upload")
    kenmerk = str(browser.evaluate("document.getElementById('kenmerk').textContent"))
    text = browser.wait_text("E-mail verzonden")
    assert "Gedeponeerd" in text
    for status in ("105", "100", "110", "200", "301", "405", "400", "500"):
        assert re.search(rf"\b{status}\b", text), status
    browser.screenshot("3-filed")
    (mail,) = zdj_stack.smtp.wait_for(kenmerk)
    assert mail["To"] == COMPANY["email"]
    assert kenmerk in mail.get_body(preferencelist=("plain",)).get_content()
    # The same submission as any other: the operators' CLI shows it, sent by the code holder.
    shown = zdj_stack.cli("submissions", "show", kenmerk).stdout
    assert "500" in shown and code.replace("-", "") in shown
    browser.goto(f"{zdj_stack.web_url}{B}/overzicht")
    assert kenmerk in browser.text()
    # The filer removes the authorisation: no more filing for that business.
    browser.click("[id^=remove-]")
    text = browser.text()
    assert "Machtiging verwijderd" in text and "Deponeer jaarrekening" not in text
    browser.goto(f"{zdj_stack.web_url}{B}/bedrijf/12345678")
    assert "niet gemachtigd" in browser.text()


def test_medium_sized_company_is_refused_with_gw_zdj_01(zdj_stack: Stack, browser: Browser, tmp_path: Path) -> None:
    code, password = issue_by_post(zdj_stack, "Bo Bakker", "bo@elders.test")
    first_log_in(browser, zdj_stack, code, password, "bo-kiest-een-wachtwoord")
    authorise(browser, zdj_stack, "12345678")
    browser.click("#file-12345678")
    medium = Statement(
        year=2025,
        size_class="medium",
        current=Figures(20_000_000, 40_000_000, 120),
        previous=Figures(19_000_000, 38_000_000, 110),
    )
    browser.upload("#jaarrekening", statement_file(tmp_path, "middelgroot.xbrl", medium))
    browser.click("#upload")
    text = browser.wait_text("Afgewezen")
    assert re.search(r"311\s+Validatie niet gelukt\s+GW-ZDJ-01", text), text  # the statusFoutcode
    assert "alleen micro- en kleine ondernemingen" in text
    assert "micro and small companies only" in text and "medium-sized" in text
    browser.screenshot("4-medium-refused")
    # A replay (after a rules fix, say) runs the web filing's own check again.
    kenmerk = str(browser.evaluate("document.getElementById('kenmerk').textContent"))
    zdj_stack.cli("replay", kenmerk, "--reason", "controle", "--actor", "op")
    page = browser.url
    deadline = time.monotonic() + 60
    while len(re.findall(r"311\s+Validatie niet gelukt\s+GW-ZDJ-01", browser.text())) < 2:
        assert time.monotonic() < deadline, browser.text()
        time.sleep(0.5)
        browser.goto(page)


def test_wrong_password_then_lock_out_and_unknown_codes_look_the_same(zdj_stack: Stack, browser: Browser) -> None:
    code, password = issue_by_email(zdj_stack, "Cas Smit")
    # A well-formed code that nobody holds (fresh each run: the lock-outs live in Redis).
    unknown = display(new_code())
    answers: dict[str, list[str]] = {code: [], unknown: []}
    for typed in (code, unknown):
        for _ in range(5):
            text = log_in(browser, zdj_stack, typed, "wrong-password")
            answers[typed].append(text.split("Toegangscode / Access code")[0])
    assert answers[code] == answers[unknown]
    assert all("Toegangscode of wachtwoord onjuist" in t for t in answers[code][:4])
    assert "Te veel mislukte pogingen" in answers[code][4]
    # Locked: even the right password does not get in now.
    text = log_in(browser, zdj_stack, code, password)
    assert "Te veel mislukte pogingen" in text and browser.url.endswith(f"{B}/inloggen")
    browser.screenshot("5-locked")
    history = zdj_stack.cli("zdj", "code", "show", code).stdout
    assert "locked_out" in history
    # A misread code (O for 0, I for 1) is a format error, said as such.
    text = log_in(browser, zdj_stack, "W-OOII-2222-2", "x")
    assert "geen geldige toegangscode" in text


def test_blocked_code_cannot_log_in_and_loses_its_session(zdj_stack: Stack, browser: Browser) -> None:
    code, password = issue_by_email(zdj_stack, "Dirk Dekker")
    first_log_in(browser, zdj_stack, code, password, "dirk-zijn-wachtwoord")
    zdj_stack.cli("zdj", "code", "block", code, "--reason", "unpaid_invoice", "--note", "factuur 42", "--actor", "deb")
    browser.goto(f"{zdj_stack.web_url}{B}/overzicht")
    assert browser.url.endswith(f"{B}/")  # the session is gone
    text = log_in(browser, zdj_stack, code, "dirk-zijn-wachtwoord")
    assert "geblokkeerd" in text
    browser.screenshot("6-blocked")
    zdj_stack.cli("zdj", "code", "unblock", code, "--note", "factuur 42 betaald", "--actor", "deb")
    log_in(browser, zdj_stack, code, "dirk-zijn-wachtwoord")
    assert browser.url.endswith(f"{B}/overzicht")
    shown = zdj_stack.cli("zdj", "code", "show", code).stdout
    assert re.search(r"blocked\s+deb", shown) and re.search(r"unblocked\s+deb\s+factuur 42 betaald", shown)


def test_closed_branch_closes_its_codes_and_takes_no_new_ones(zdj_stack: Stack, browser: Browser) -> None:
    code, password = issue_by_email(zdj_stack, "Eva Evers", branch=CLOSING_BRANCH)
    out = zdj_stack.cli("zdj", "branch", "close", CLOSING_BRANCH, "--reason", "filiaal opgeheven", "--actor", "op")
    assert code in out.stdout
    text = log_in(browser, zdj_stack, code, password)
    assert "opgeheven" in text
    browser.screenshot("7-closed")
    refused = zdj_stack.cli(
        "zdj",
        "code",
        "issue",
        "--branch",
        CLOSING_BRANCH,
        "--name",
        "F",
        "--email",
        "f@x.test",
        "--actor",
        "op",
        check=False,
    )
    assert refused.returncode != 0 and "closed" in refused.stderr
    # Nor on the application page.
    text = apply(browser, zdj_stack, CLOSING_BRANCH, "Frits", COMPANY["email"])
    assert "Deze vestiging is gesloten" in text


def apply(browser: Browser, stack: Stack, branch: str, name: str, email: str) -> str:
    browser.clear_cookies()
    browser.goto(f"{stack.web_url}{B}/")
    browser.click("a[href$='/aanvragen']")
    browser.fill("#vestigingsnummer", branch)
    browser.fill("#name", name)
    browser.fill("#email", email)
    browser.click("#apply")
    return browser.text()


def test_applying_on_the_page_email_or_post(zdj_stack: Stack, browser: Browser) -> None:
    text = apply(browser, zdj_stack, BRANCH, "Iris Ingen", COMPANY["email"].upper())
    assert "u ontvangt de toegangscode per e-mail" in text
    browser.screenshot("8-applied-email")
    code = next(
        line.split()[0] for line in zdj_stack.cli("zdj", "code", "list").stdout.splitlines() if "Iris Ingen" in line
    )
    mail = _mail_to(zdj_stack.smtp, COMPANY["email"].upper(), "access_code", code)
    assert "Uw wachtwoord:" in mail.get_content()
    text = apply(browser, zdj_stack, BRANCH, "Jan Jonker", "jan@thuis.test")
    match = re.search(r"per post: verzonden op (\d{4}-\d\d-\d\d), uiterlijk (\d{4}-\d\d-\d\d) bezorgd", text)
    assert match, text
    letters = zdj_stack.cli("zdj", "letters", "list").stdout
    assert f"dispatch {match.group(1)}  deliver by {match.group(2)}  T.a.v. Jan Jonker" in letters
    # One code per person: applying again is refused.
    text = apply(browser, zdj_stack, BRANCH, "Jan Jonker", "jan@thuis.test")
    assert "U heeft al een toegangscode" in text


def test_replacement_password_by_email_and_forms_need_their_token(zdj_stack: Stack, browser: Browser, pki: Pki) -> None:
    code, _ = issue_by_email(zdj_stack, "Fenna Fokker")
    browser.clear_cookies()
    browser.goto(f"{zdj_stack.web_url}{B}/vervangend-wachtwoord")
    browser.fill("#code", code)
    browser.fill("#email", COMPANY["email"].upper())
    browser.click("#send")
    answer = browser.text()
    mail = _mail_to(zdj_stack.smtp, COMPANY["email"], "replacement_password", code)
    replacement = re.search(r"vervangende wachtwoord voor toegangscode \S+: (\S+)", mail.get_content())
    assert replacement
    # Someone else's address: the same answer, and no mail.
    browser.goto(f"{zdj_stack.web_url}{B}/vervangend-wachtwoord")
    browser.fill("#code", code)
    browser.fill("#email", "attacker@evil.test")
    browser.click("#send")
    assert browser.text() == answer
    with zdj_stack.smtp.lock:
        replacements = [m for m in zdj_stack.smtp.messages if m["X-Gateway-Zdj"] == "replacement_password"]
    assert len(replacements) == 1 and replacements[0]["To"] == COMPANY["email"]
    first_log_in(browser, zdj_stack, code, replacement.group(1), "fenna-nieuw-wachtwoord")
    # A form posted with the session cookie but without the session's token (what a forged
    # cross-site request would carry, were SameSite not there) is refused; the page's own
    # scripts cannot even try (the CSP allows no fetch).
    cookie = next(c for c in browser.cookies() if c["name"] == "__Host-zdj")
    headers = {"Cookie": f"__Host-zdj={cookie['value']}"}
    with requests.Session() as http:
        http.trust_env, http.verify = False, str(pki.root)
        for form in ({"kvk": "12345678"}, {"kvk": "12345678", "csrf": "forged"}):
            r = http.post(f"{zdj_stack.web_url}{B}/machtiging", data=form, headers=headers, timeout=10)
            assert r.status_code == 403
            assert "Formulier verlopen" in r.text
        r = http.get(f"{zdj_stack.web_url}{B}/overzicht", headers=headers, timeout=10)
        assert r.status_code == 200 and "Fenna Fokker" in r.text  # the session itself is fine
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert code not in zdj_stack.cli("zdj", "auth", "list").stdout
