"""Attacks on the envelope and the HTTP layer, through the real TLS port (issue 11, items
9–13; issue 10, item 3): each is refused with a specific fault, the signature is checked on
exactly the copy that is read, and no raw request bytes reach a log."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import uuid
from collections.abc import Iterator

import pytest
from lxml import etree

from tests.conftest import make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.raw import aanlever_envelope, fault_of, post, signed
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Statement

GOOD = Statement().build()
A = "http://www.w3.org/2005/08/addressing"
S = "http://schemas.xmlsoap.org/soap/envelope/"
WSU_ID = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}Id"


@pytest.fixture(scope="module")
def attack_stack(pki: Pki, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One intake server (no worker) for the whole module: every request here is refused or read-only."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'gateway.db'}"
    yield from running(make_stack(pki, smtp, url), worker=False)


def _kenmerken(stack: Stack) -> list[str]:
    return [json.loads(line)["kenmerk"] for line in stack.cli("submissions", "list", "--json").stdout.splitlines()]


def _signed_tree(stack: Stack) -> etree._Element:
    return etree.fromstring(signed(aanlever_envelope(instance=GOOD), stack.pki.client("filer-a")))


def _send(stack: Stack, env: etree._Element) -> tuple[int, tuple[str, str, str], etree._Element]:
    response = post(stack.base_url, stack.pki.root, stack.pki.client("filer-a"), etree.tostring(env))
    return response.status_code, fault_of(response), etree.fromstring(response.content)


def test_duplicate_headers_and_bodies_are_refused(attack_stack: Stack) -> None:
    stack = attack_stack
    # An unsigned MessageID before the signed one: once a replay under a fresh MessageID.
    env = _signed_tree(stack)
    header = env.find(f"{{{S}}}Header")
    assert header is not None
    extra = etree.Element(f"{{{A}}}MessageID")
    extra.text = f"urn:uuid:{uuid.uuid4()}"
    header.insert(0, extra)
    status, (faultcode, foutcode, text), reply = _send(stack, env)
    assert (status, faultcode, foutcode) == (500, "s:Client", "ALS100")
    assert "MessageID komt meer dan één keer voor" in text
    assert reply.findtext(f".//{{{A}}}Action", "").endswith("/AanleverService/aanleveren/Fault/")

    # A second Body after the signed one, and a second Header.
    env = _signed_tree(stack)
    body = env.find(f"{{{S}}}Body")
    assert body is not None
    evil = etree.fromstring(etree.tostring(body))
    del evil.attrib[WSU_ID]
    env.append(evil)
    assert "meer dan één soap:Body" in _send(stack, env)[1][2]
    env = _signed_tree(stack)
    env.insert(1, etree.Element(f"{{{S}}}Header"))
    assert "meer dan één soap:Header" in _send(stack, env)[1][2]

    # Every WS-Addressing header, duplicated.
    for name in ("Action", "To", "ReplyTo"):
        env = _signed_tree(stack)
        header = env.find(f"{{{S}}}Header")
        assert header is not None
        original = header.find(f"{{{A}}}{name}")
        copy = etree.SubElement(header, f"{{{A}}}{name}")
        if original is not None:
            copy.text = original.text
        else:
            etree.SubElement(copy, f"{{{A}}}Address").text = f"{A}/anonymous"
            etree.SubElement(header, f"{{{A}}}{name}").append(etree.fromstring(etree.tostring(copy[0])))
        assert f"{name} komt meer dan één keer voor" in _send(stack, env)[1][2], name
    assert _kenmerken(stack) == []


def test_a_fault_carries_the_action_of_the_operation_asked_for(attack_stack: Stack) -> None:
    stack = attack_stack
    action = (
        "http://logius.nl/digipoort/wus/2.0/statusinformatieservice/1.2/StatusinformatieService/getProcessenRequest"
    )
    response = post(
        stack.base_url,
        stack.pki.root,
        stack.pki.client("filer-a"),
        b"<not-xml",
        "/wus/2.0/statusinformatieservice/1.2",
        action,
    )
    reply = etree.fromstring(response.content)
    assert reply.findtext(f".//{{{A}}}Action", "").endswith("/StatusinformatieService/getProcessen/Fault/")
    assert fault_of(response)[1] == "STS100"


def test_xml_id_decoy_is_a_failed_check(attack_stack: Stack) -> None:
    stack = attack_stack
    env = _signed_tree(stack)
    body = env.find(f"{{{S}}}Body")
    security = env.find(
        ".//{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Security"
    )
    assert body is not None and security is not None
    # The signed Body hidden in a wrapper that claims its id by xml:id; the read Body is changed.
    decoy = etree.SubElement(security, "Wrapper")
    decoy.set("{http://www.w3.org/XML/1998/namespace}id", body.get(WSU_ID) or "")
    original = etree.fromstring(etree.tostring(body))
    del original.attrib[WSU_ID]  # only the xml:id claims the id: no duplicate wsu:Id to spot
    decoy.append(original)
    next(el for el in body.iter() if el.text == "raw").text = "evil"
    status, (faultcode, foutcode, text), _ = _send(stack, env)
    assert (status, faultcode, foutcode) == (500, "wsse:FailedCheck", "ALS100"), text
    assert "Traceback" not in stack.logs("serve")
    assert _kenmerken(stack) == []


def test_deflate_carrying_gzip_is_the_senders_error(attack_stack: Stack) -> None:
    stack = attack_stack
    body = gzip.compress(signed(aanlever_envelope(instance=GOOD), stack.pki.client("filer-a")))
    response = post(
        stack.base_url, stack.pki.root, stack.pki.client("filer-a"), body, headers={"Content-Encoding": "deflate"}
    )
    faultcode, foutcode, text = fault_of(response)
    assert (response.status_code, faultcode, foutcode) == (500, "s:Client", "ALS100"), text
    assert "Content-Encoding 'deflate'" in text
    logs = stack.logs("serve")
    assert "Traceback" not in logs and '"level": "error"' not in logs


def _tls(stack: Stack) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(stack.pki.root))
    cert = stack.pki.client("filer-a")
    ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", stack.port), timeout=10), server_hostname="localhost")


def test_a_malformed_request_on_a_keep_alive_connection_puts_no_payload_in_the_log(attack_stack: Stack) -> None:
    stack = attack_stack
    marker = "TOKENMARKER" + uuid.uuid4().hex
    sock = _tls(stack)
    try:
        first = b"GET /wus/2.0/aanleverservice/1.2?wsdl HTTP/1.1\r\nHost: localhost\r\n\r\n"
        sock.sendall(first)
        reply = b""
        while b"</wsdl:definitions>" not in reply:
            chunk = sock.recv(65536)
            assert chunk, "connection closed before the first answer"
            reply += chunk
        # A second request, malformed, carrying what a log must never show.
        sock.sendall(
            b"POST /wus/2.0/aanleverservice/1.2 HTTP/1.1\r\nHost: localhost\r\n"
            + f"Bad Header {marker}: <BinarySecurityToken>{marker}</BinarySecurityToken>\r\n\r\n".encode()
        )
        sock.settimeout(10)
        answer = sock.recv(65536)
    finally:
        sock.close()
    assert answer.split(b"\r\n", 1)[0].endswith(b"400 Bad Request")
    logs = stack.logs("serve")
    assert marker not in logs
    assert "HTTP request refused by the server (BadHttpMessage)" in logs
