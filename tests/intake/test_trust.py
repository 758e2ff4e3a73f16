"""Trust, through the real TLS port: which certificates may connect, and which signed
messages are accepted (reference section 6)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests

from gateway.devcerts import company_oin, new_dev_ca
from tests.conftest import make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki, write_crl
from tests.support.raw import aanlever_envelope, fault_of, post, signed
from tests.support.smtp import SmtpSink
from tests.support.wus_client import ClientCert
from tests.support.xbrl import Statement

GOOD = Statement().build()


def refusal(stack: Stack, cert: ClientCert, body: bytes | None = None) -> str:
    """'tls' if the handshake failed, else the SOAP faultcode + text; '' if accepted."""
    try:
        response = post(stack.base_url, stack.pki.root, cert, body or signed(aanlever_envelope(instance=GOOD), cert))
    except requests.exceptions.SSLError:
        return "tls"
    except requests.exceptions.ConnectionError:
        return "tls"
    if response.status_code == 200:
        return ""
    faultcode, foutcode, text = fault_of(response)
    return f"{faultcode} {foutcode} {text}"


@pytest.fixture(scope="module")
def revoked_pair(pki: Pki) -> tuple[ClientCert, ClientCert, object]:
    good = pki.client("crl-good")
    bad = pki.client("crl-revoked")
    from cryptography import x509

    serial = x509.load_pem_x509_certificate(bad.cert.read_bytes()).serial_number
    crl = write_crl(pki.folder / "org-ca.crl", pki.ca.intermediate, [serial])
    return good, bad, crl


@pytest.fixture
def crl_stack(
    pki: Pki, smtp: SmtpSink, sqlite_url: str, revoked_pair: tuple[ClientCert, ClientCert, object]
) -> Iterator[Stack]:
    yield from running(make_stack(pki, smtp, sqlite_url, extra_env={"GATEWAY_CRL": str(revoked_pair[2])}), worker=False)


def test_certificates_that_may_not_connect(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    pki = stack.pki
    now = dt.datetime.now(dt.UTC)
    future = pki.issue_with(
        pki.ca.intermediate,
        "future",
        oin=company_oin("12345678"),
        not_before=now + dt.timedelta(days=2),
        not_after=now + dt.timedelta(days=30),
    )
    assert refusal(stack, future) == "tls"
    server_only = pki.issue_with(
        pki.ca.intermediate, "server-eku", oin=company_oin("12345678"), client=False, server=True
    )
    assert refusal(stack, server_only) in ("tls",) or "extendedKeyUsage" in refusal(stack, server_only)
    foreign = pki.issue_with(new_dev_ca().intermediate, "foreign2", oin=company_oin("12345678"))
    assert refusal(stack, foreign) == "tls"
    no_oin = pki.issue_with(pki.ca.intermediate, "no-oin")
    text = refusal(stack, no_oin)
    assert "wsse:FailedAuthentication" in text and "OIN" in text
    bad_hrn = pki.issue_with(pki.ca.intermediate, "bad-hrn", oin="00000003123456789999")
    assert "geen geldig HRN" in refusal(stack, bad_hrn)


def test_revoked_certificate_is_refused(crl_stack: Stack, revoked_pair: tuple[ClientCert, ClientCert, object]) -> None:
    good, bad, _ = revoked_pair
    assert refusal(crl_stack, good) == ""
    text = refusal(crl_stack, bad)
    assert "wsse:FailedAuthentication" in text and "ingetrokken" in text


def test_signature_policy(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    cert = stack.pki.client("filer-a")
    envelope = aanlever_envelope(instance=GOOD)

    assert "wsse:InvalidSecurity" in refusal(stack, cert, envelope)  # unsigned

    tampered = signed(envelope, cert).replace(b"<aanleverkenmerk>raw<", b"<aanleverkenmerk>evil<")
    assert "wsse:FailedCheck" in refusal(stack, cert, tampered)

    stale = signed(envelope, cert, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    assert "wsse:MessageExpired" in refusal(stack, cert, stale)

    other = stack.pki.client("other-party", kvk_number="87654321")
    text = refusal(stack, cert, signed(envelope, other))
    assert "wsse:InvalidSecurityToken" in text and "ander certificaat" in text

    once = signed(envelope, cert)
    assert refusal(stack, cert, once) == ""
    # The identical message again is a retransmission (tests/intake/test_retransmission.py);
    # other content under the same MessageID is a replay.
    assert refusal(stack, cert, once) == ""
    other_content = signed(envelope.replace(b"<aanleverkenmerk>raw<", b"<aanleverkenmerk>other<"), cert)
    text = refusal(stack, cert, other_content)
    assert "wsse:FailedCheck" in text and "replay" in text

    fresh = aanlever_envelope(instance=GOOD)  # a new MessageID
    assert refusal(stack, cert, signed(fresh, cert, sha1=False)) == ""  # RSA-SHA256


def test_signed_response_verifies_with_the_client_library(sqlite_stack: Stack) -> None:
    from cryptography import x509

    client = sqlite_stack.client(sqlite_stack.pki.client("filer-a"))
    client.submit(GOOD, "12345678")
    assert client.wsse is not None and client.wsse.last_verified is not None
    server = x509.load_pem_x509_certificate(sqlite_stack.pki.server.cert.read_bytes())
    assert client.wsse.last_verified.certificate == server


@pytest.fixture
def proxy_stack(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Stack]:
    yield from running(
        make_stack(pki, smtp, sqlite_url, extra_env={"GATEWAY_PROXY_CERT_HEADER": "X-SSL-Client-Cert"}), worker=False
    )


def test_reverse_proxy_mode(proxy_stack: Stack) -> None:
    stack = proxy_stack
    cert = stack.pki.client("filer-a")
    url = stack.base_url.replace("https://", "http://")
    body = signed(aanlever_envelope(instance=GOOD), cert)
    header = {"X-SSL-Client-Cert": quote(cert.cert.read_text())}
    ok = post(url, stack.pki.root, None, body, headers=header)
    assert ok.status_code == 200, ok.text
    missing = post(url, stack.pki.root, None, signed(aanlever_envelope(instance=GOOD), cert))
    assert "wsse:FailedAuthentication" in fault_of(missing)[0]
    foreign = stack.pki.issue_with(new_dev_ca().intermediate, "foreign3", oin=company_oin("12345678"))
    forged = post(
        url,
        stack.pki.root,
        None,
        signed(aanlever_envelope(instance=GOOD), foreign),
        headers={"X-SSL-Client-Cert": quote(foreign.cert.read_text())},
    )
    assert "vertrouwde" in fault_of(forged)[2]


def test_reverse_proxy_mode_only_from_trusted_addresses(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> None:
    stack = make_stack(
        pki,
        smtp,
        sqlite_url,
        extra_env={"GATEWAY_PROXY_CERT_HEADER": "X-SSL-Client-Cert", "GATEWAY_TRUSTED_PROXIES": "127.0.0.2"},
    )
    stack.start_server()
    try:
        cert = pki.client("filer-a")
        response = post(
            stack.base_url.replace("https://", "http://"),
            pki.root,
            None,
            signed(aanlever_envelope(instance=GOOD), cert),
            headers={"X-SSL-Client-Cert": quote(cert.cert.read_text())},
        )
        assert "alleen via de TLS-proxy" in fault_of(response)[2]
    finally:
        stack.stop()
