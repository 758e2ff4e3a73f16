"""Bad requests are refused with the right TLS error or Digipoort fault, and leave nothing
in the store."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from tests.support.gateway import Stack
from tests.support.pki import expired_window
from tests.support.raw import aanlever_envelope, fault_of, post, signed
from tests.support.xbrl import Statement

GOOD = Statement().build()
BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
XXE = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'

BAD_REQUESTS = {
    "malformed XML": (aanlever_envelope(instance=GOOD)[:-20], "well-formed"),
    "billion laughs": (aanlever_envelope(instance=GOOD, doctype=BILLION_LAUGHS), "DOCTYPE"),
    "external entity": (aanlever_envelope(instance=GOOD, doctype=XXE), "DOCTYPE"),
    "missing required element": (
        aanlever_envelope(
            body_override=(
                '<aanleverRequest xmlns="http://logius.nl/digipoort/koppelvlakservices/1.2/">'
                "<berichtsoort>Jaarverantwoording_KvK</berichtsoort>"
                "<identiteitBelanghebbende><nummer>12345678</nummer><type>KvK</type></identiteitBelanghebbende>"
                "<berichtInhoud><mimeType>application/xml</mimeType><bestandsnaam>j.xbrl</bestandsnaam>"
                "<inhoud>PHgvPg==</inhoud></berichtInhoud></aanleverRequest>"
            )
        ),
        "rolBelanghebbende",
    ),
    "bad base64": (aanlever_envelope("!!!not*base64!!!"), "base64"),
    "part over 20 MiB": (
        aanlever_envelope(base64.b64encode(b"<" + b"a" * (20 * 1024 * 1024 + 10)).decode()),
        "20971520",
    ),
    "unknown berichtsoort": (
        aanlever_envelope(instance=GOOD).replace(b"Jaarverantwoording_KvK", b"Omzetbelasting"),
        "berichtsoort",
    ),
    "wrong action": (aanlever_envelope(instance=GOOD, action="urn:wrong"), "Action"),
    "not SOAP": (b"<hello/>", "SOAP 1.1 Envelope"),
}


UNPARSEABLE = {"malformed XML", "billion laughs", "external entity", "not SOAP"}


def _stored(stack: Stack) -> list[dict[str, object]]:
    return [json.loads(line) for line in stack.cli("submissions", "list", "--json").stdout.splitlines()]


def test_bad_requests_get_a_specific_fault_and_store_nothing(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    cert = stack.pki.client("filer-a")
    for name, (body, expected) in BAD_REQUESTS.items():
        if name not in UNPARSEABLE:
            body = signed(body, cert)
        response = post(stack.base_url, stack.pki.root, cert, body)
        assert response.status_code == 500, name  # SOAP 1.1: faults travel with HTTP 500
        faultcode, foutcode, text = fault_of(response)
        assert faultcode == "s:Client", name
        assert foutcode == "ALS100", name
        assert expected in text, f"{name}: {text}"
        assert "Traceback" not in response.text
    assert _stored(stack) == []
    # and the server is still fine afterwards
    assert post(stack.base_url, stack.pki.root, cert, signed(aanlever_envelope(instance=GOOD), cert)).status_code == 200


def test_no_client_certificate_is_refused_at_tls(sqlite_stack: Stack) -> None:
    with pytest.raises(requests.exceptions.RequestException):
        post(sqlite_stack.base_url, sqlite_stack.pki.root, None, aanlever_envelope(instance=GOOD))
    assert _stored(sqlite_stack) == []


def test_certificate_from_another_ca_is_refused_at_tls(sqlite_stack: Stack) -> None:
    from gateway.devcerts import company_oin, new_dev_ca

    foreign = new_dev_ca()
    cert = sqlite_stack.pki.issue_with(foreign.intermediate, "foreign", oin=company_oin("12345678"))
    with pytest.raises(requests.exceptions.RequestException):
        post(sqlite_stack.base_url, sqlite_stack.pki.root, cert, aanlever_envelope(instance=GOOD))
    assert _stored(sqlite_stack) == []


def test_expired_certificate_is_refused_at_tls(sqlite_stack: Stack) -> None:
    cert = sqlite_stack.pki.issue_with(sqlite_stack.pki.ca.intermediate, "expired", **expired_window())
    with pytest.raises(requests.exceptions.RequestException):
        post(sqlite_stack.base_url, sqlite_stack.pki.root, cert, aanlever_envelope(instance=GOOD))
    assert _stored(sqlite_stack) == []
