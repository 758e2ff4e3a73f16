"""The client certificate's verdict is kept per certificate (the chain is not built and
verified again for every request), and still ends exactly when what it relied on does: a
certificate in the chain expiring, the issuer's CRL passing its nextUpdate, a new CRL."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from cryptography import x509

from gateway.devcerts import Issued, company_oin, issue_leaf, make_ca
from gateway.intake.trust import CertificateChecker, CertificateRefused, CrlStore
from tests.conftest import make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki, write_crl
from tests.support.raw import aanlever_envelope, fault_of, post, signed
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Statement

GOOD = Statement().build()


def _answer(response: requests.Response) -> str:
    """'' if accepted, else the fault's code and text."""
    if response.status_code == 200:
        return ""
    faultcode, foutcode, text = fault_of(response)
    return f"{faultcode} {foutcode} {text}"


def _until_refused(send: Iterator[str], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    for answer in send:
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)
    return ""


# ----------------------------------------------------------------------- through the port


@pytest.fixture
def crl_file(pki: Pki, tmp_path: Path) -> Path:
    return write_crl(tmp_path / "org-ca.crl", pki.ca.intermediate, [])


@pytest.fixture
def refreshing_stack(pki: Pki, smtp: SmtpSink, sqlite_url: str, crl_file: Path) -> Iterator[Stack]:
    env = {"GATEWAY_CRL": str(crl_file), "GATEWAY_CRL_REFRESH": "1"}
    yield from running(make_stack(pki, smtp, sqlite_url, extra_env=env), worker=False)


def test_revoked_by_the_next_crl_is_refused_though_its_verdict_was_kept(
    refreshing_stack: Stack, pki: Pki, crl_file: Path
) -> None:
    stack = refreshing_stack
    cert = pki.client("revoked-later")

    def send() -> Iterator[str]:
        while True:
            body = signed(aanlever_envelope(instance=GOOD), cert)
            yield _answer(post(stack.base_url, pki.root, cert, body))

    answers = send()
    assert next(answers) == ""
    assert next(answers) == ""  # the kept verdict
    serial = x509.load_pem_x509_certificate(cert.cert.read_bytes()).serial_number
    write_crl(crl_file, pki.ca.intermediate, [serial])
    text = _until_refused(answers, 15)
    assert "wsse:FailedAuthentication" in text and "ingetrokken" in text


@pytest.fixture
def proxy_stack(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Stack]:
    env = {"GATEWAY_PROXY_CERT_HEADER": "X-SSL-Client-Cert"}
    yield from running(make_stack(pki, smtp, sqlite_url, extra_env=env), worker=False)


def test_a_kept_verdict_ends_when_the_certificate_expires(proxy_stack: Stack, pki: Pki) -> None:
    # Behind a proxy (as over a keep-alive TLS connection) nothing else looks at the dates.
    stack = proxy_stack
    now = dt.datetime.now(dt.UTC)
    cert = pki.issue_with(
        pki.ca.intermediate,
        "expiring-soon",
        oin=company_oin("12345678"),
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(seconds=4),
    )
    url = stack.base_url.replace("https://", "http://")
    header = {"X-SSL-Client-Cert": quote(cert.cert.read_text())}

    def send() -> Iterator[str]:
        while True:
            body = signed(aanlever_envelope(instance=GOOD), cert)
            yield _answer(post(url, pki.root, None, body, headers=header))

    answers = send()
    assert next(answers) == ""
    text = _until_refused(answers, 15)
    assert "wsse:FailedAuthentication" in text and "verlopen" in text


# ----------------------------------------------------------------------- the checker itself


def _leaf(ca: Issued, name: str) -> x509.Certificate:
    return issue_leaf(ca, f"Filer {name}", oin=company_oin("12345678")).cert


def test_a_kept_verdict_ends_with_the_first_certificate_of_the_chain_to_expire(tmp_path: Path) -> None:
    root = make_ca("Cache Root CA")
    short = make_ca("Cache Short-lived CA", issuer=root, days=1)
    bundle = [short.cert, root.cert]
    checker = CertificateChecker(bundle, CrlStore([], tmp_path, bundle))
    cert = _leaf(short, "a")
    now = dt.datetime.now(dt.UTC)
    assert checker.check(cert, now).oin == company_oin("12345678")
    assert checker.check(cert, now + dt.timedelta(hours=1)).oin == company_oin("12345678")
    with pytest.raises(CertificateRefused, match="Short-lived CA is verlopen"):
        checker.check(cert, short.cert.not_valid_after_utc + dt.timedelta(seconds=1))
    with pytest.raises(CertificateRefused, match="nog niet geldig"):  # a clock set back
        checker.check(cert, cert.not_valid_before_utc - dt.timedelta(seconds=1))


def test_a_kept_verdict_ends_with_the_crls_next_update(pki: Pki, tmp_path: Path) -> None:
    bundle = [pki.ca.intermediate.cert, pki.ca.root.cert]
    crl = write_crl(tmp_path / "one-day.crl", pki.ca.intermediate, [], days=1)
    crls = CrlStore([str(crl)], tmp_path / "cache", bundle)
    asyncio.run(crls.refresh())
    checker = CertificateChecker(bundle, crls)
    cert = _leaf(pki.ca.intermediate, "crl-next-update")
    now = dt.datetime.now(dt.UTC)
    checker.check(cert, now)
    next_update = x509.load_pem_x509_crl(crl.read_bytes()).next_update_utc
    assert next_update is not None
    checker.check(cert, next_update)
    with pytest.raises(CertificateRefused, match="CRL van de uitgever is verlopen"):
        checker.check(cert, next_update + dt.timedelta(seconds=1))


def test_a_verdict_is_kept_until_the_crls_are_refreshed(pki: Pki, tmp_path: Path) -> None:
    bundle = [pki.ca.intermediate.cert, pki.ca.root.cert]
    crl = write_crl(tmp_path / "org.crl", pki.ca.intermediate, [])
    crls = CrlStore([str(crl)], tmp_path / "cache", bundle)
    asyncio.run(crls.refresh())
    checker = CertificateChecker(bundle, crls)
    cert = _leaf(pki.ca.intermediate, "kept")
    checker.check(cert)
    # Without its trust anchors the checker could not build the chain again: a second
    # check answers from the kept verdict ...
    checker.bundle = []
    assert checker.check(cert).oin == company_oin("12345678")
    # ... until a refresh loads the CRLs again; then the chain is built anew.
    write_crl(crl, pki.ca.intermediate, [])
    asyncio.run(crls.refresh())
    with pytest.raises(CertificateRefused, match="vertrouwde"):
        checker.check(cert)
