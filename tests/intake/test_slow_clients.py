"""Slow clients (slowloris) are cut off; a normal client on the same port is unaffected."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.conftest import make_stack, running
from tests.support.gateway import Stack
from tests.support.pki import Pki
from tests.support.raw import aanlever_envelope, post, signed
from tests.support.smtp import SmtpSink
from tests.support.xbrl import Statement


@pytest.fixture
def quick_stack(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Stack]:
    yield from running(make_stack(pki, smtp, sqlite_url, extra_env={"GATEWAY_HEADER_TIMEOUT": "2"}), worker=False)


def _tls(stack: Stack) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(stack.pki.root))
    cert = stack.pki.client("filer-a")
    ctx.load_cert_chain(str(cert.cert), str(cert.key))
    raw = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def _closed_within(sock: ssl.SSLSocket, seconds: float) -> float:
    """Seconds until the server closed the connection (fails if it stays open)."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(1024):
            pass
    except TimeoutError:
        raise AssertionError(f"connection still open after {seconds} s") from None
    except (ConnectionResetError, ssl.SSLError):
        pass
    finally:
        sock.close()
    return time.monotonic() - start


def test_trickled_headers_are_cut_off(quick_stack: Stack) -> None:
    sock = _tls(quick_stack)
    try:
        sock.sendall(b"POST /wus/2.0/aanleverservice/1.2 HTTP/1.1\r\nHost: localhost\r\n")
        for _ in range(3):  # a header line now and then, never the blank line that ends them
            time.sleep(0.5)
            sock.sendall(b"X-Slow: 1\r\n")
    except BaseException:
        sock.close()
        raise
    assert _closed_within(sock, 6) < 6


def test_silent_connection_is_cut_off(quick_stack: Stack) -> None:
    assert _closed_within(_tls(quick_stack), 6) < 6


def test_normal_requests_still_work(quick_stack: Stack) -> None:
    cert = quick_stack.pki.client("filer-a")
    body = signed(aanlever_envelope(instance=Statement().build()), cert)
    assert post(quick_stack.base_url, quick_stack.pki.root, cert, body).status_code == 200


@pytest.fixture
def slow_body_stack(pki: Pki, smtp: SmtpSink, sqlite_url: str) -> Iterator[Stack]:
    env = {"GATEWAY_REQUEST_READ_TIMEOUT": "1"}
    yield from running(make_stack(pki, smtp, sqlite_url, extra_env=env), worker=False)


def test_a_body_not_sent_in_time_gets_a_fault(slow_body_stack: Stack) -> None:
    body = signed(aanlever_envelope(instance=Statement().build()), slow_body_stack.pki.client("filer-a"))
    sock = _tls(slow_body_stack)
    try:
        sock.sendall(
            b"POST /wus/2.0/aanleverservice/1.2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        sock.settimeout(10)
        answer = b""
        while b"</s:Envelope>" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 500")
    assert b"niet binnen de toegestane tijd" in answer
